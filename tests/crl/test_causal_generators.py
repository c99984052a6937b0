import hashlib

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor

from skpersona.datasets import make_causal_digits, make_multimodal_causal
from skpersona.utils import modality_columns


def test_default_graph_is_personax_dag_and_outputs_are_named():
    data = make_multimodal_causal(n_samples=300, random_state=0)
    assert data.graph.index.tolist() == ["z1_1", "z1_2", "z2_1", "z2_2"]
    edges = {(i, j) for i in data.graph.index for j in data.graph.columns if data.graph.loc[i, j]}
    assert edges == {("z1_1", "z1_2"), ("z1_1", "z2_1"), ("z2_1", "z2_2")}
    assert data.latents.columns.tolist() == ["z1_1", "z1_2", "z2_1", "z2_2", "s_1"]
    blocks = modality_columns(data.data.columns)
    assert list(blocks) == ["1", "2"] and all(len(v) == 10 for v in blocks.values())
    np.testing.assert_allclose(data.latents.iloc[:, :4].std(ddof=0), 1.0)


def test_reproducible_and_seed_dependent():
    a = make_multimodal_causal(n_samples=50, random_state=3)
    b = make_multimodal_causal(n_samples=50, random_state=3)
    c = make_multimodal_causal(n_samples=50, random_state=4)
    np.testing.assert_array_equal(a.data.to_numpy(), b.data.to_numpy())
    assert not np.allclose(a.data.to_numpy(), c.data.to_numpy())


def test_causal_edges_carry_dependence_and_non_edges_less():
    data = make_multimodal_causal(n_samples=4000, shared_dim=0, random_state=0)
    corr = data.latents.corr().abs()
    assert corr.loc["z1_1", "z1_2"] > 0.3 and corr.loc["z2_1", "z2_2"] > 0.3
    # z1_2 and z2_2 are only linked through z1_1 -> z2_1: the weakest pair
    assert corr.loc["z1_2", "z2_2"] < min(corr.loc["z1_1", "z1_2"], corr.loc["z2_1", "z2_2"])


def test_each_measurement_sees_only_its_modality_and_the_shared_latent():
    data = make_multimodal_causal(
        n_samples=3000, n_measurements=2, noise=0.01, mixing_depth=1, random_state=0
    )
    assert data.data.columns[0] == "1.v1__x0" and len(data.measurement_noise) == 4
    view = data.data.filter(like="1.v2__").to_numpy()
    own = data.latents[["z1_1", "z1_2", "s_1"]].to_numpy()
    other = data.latents[["z2_2"]].to_numpy()
    knn = KNeighborsRegressor(10)
    # the measurement is an invertible function of (z1, s): each is recoverable from it
    own_r2 = np.mean([knn.fit(view[:2000], own[:2000, k]).score(view[2000:], own[2000:, k])
                      for k in range(3)])
    assert own_r2 > 0.9
    # z2_2 is not an input of modality 1's mixing; what is left of it is its dependence on z1
    resid = other[:, 0] - LinearRegression().fit(data.latents.iloc[:, :3], other[:, 0]).predict(
        data.latents.iloc[:, :3]
    )
    assert knn.fit(view[:2000], resid[:2000]).score(view[2000:], resid[2000:]) < 0.1


def test_generator_validates_its_inputs():
    with pytest.raises(ValueError, match="cycle"):
        make_multimodal_causal(n_samples=10, graph=[[0, 1, 0, 0], [1, 0, 0, 0], [0] * 4, [0] * 4])
    with pytest.raises(ValueError, match="n_features"):
        make_multimodal_causal(n_samples=10, n_features=2)
    with pytest.raises(ValueError, match="noise_distribution"):
        make_multimodal_causal(n_samples=10, noise_distribution="cauchy")
    with pytest.raises(ValueError, match="graph must have shape"):
        make_multimodal_causal(n_samples=10, graph=np.zeros((3, 3)))


def test_custom_graph_and_laplace_noise():
    graph = np.zeros((6, 6))
    graph[0, 5] = 1
    data = make_multimodal_causal(
        n_samples=500, n_modalities=3, latent_dim=2, graph=graph,
        noise_distribution="laplace", random_state=0,
    )
    assert data.graph.to_numpy().sum() == 1 and data.graph.loc["z1_1", "z3_2"] == 1
    assert data.modalities == ["1", "2", "3"]


def test_causal_digits_latents_set_colour_size_and_position():
    data = make_causal_digits(n_samples=400, image_size=12, noise=0.0, random_state=0)
    first, second = data.images["1"], data.images["2"]
    assert first.shape == (400, 12, 12, 3) and data.data.shape == (400, 2 * 432)
    z = data.latents
    # the corner pixel shows the background, whose grey level follows the shared latent
    assert np.corrcoef(first[:, 0, 0, 0], z["s_1"])[0, 1] > 0.95
    assert np.corrcoef(second[:, 0, 0, 0], z["s_1"])[0, 1] > 0.95
    ink1 = np.abs(first - first[:, :1, :1]).sum(axis=3)
    ink2 = np.abs(second - second[:, :1, :1]).sum(axis=3)
    red_share = (first[..., 0] * ink1).sum(axis=(1, 2)) / (first.sum(axis=3) * ink1).sum(
        axis=(1, 2)
    )
    assert np.corrcoef(red_share, z["z1_1"])[0, 1] < -0.5  # colour: red -> green -> blue
    assert np.corrcoef((ink1 > 0.3).sum(axis=(1, 2)), z["z1_2"])[0, 1] > 0.5  # size
    cols = (ink2.sum(axis=1) * np.arange(12)).sum(axis=1) / ink2.sum(axis=(1, 2))
    rows = (ink2.sum(axis=2) * np.arange(12)).sum(axis=1) / ink2.sum(axis=(1, 2))
    assert np.corrcoef(cols, z["z2_1"])[0, 1] > 0.8  # horizontal position
    assert np.corrcoef(rows, z["z2_2"])[0, 1] > 0.8  # vertical position
    edges = np.argwhere(data.graph.to_numpy()).tolist()
    assert edges == [[0, 1], [0, 2], [2, 3]]


def test_added_measurements_keep_the_mixing_of_the_first():
    one = make_multimodal_causal(n_samples=80, n_features=5, n_measurements=1, random_state=2)
    three = make_multimodal_causal(n_samples=80, n_features=5, n_measurements=3, random_state=2)
    np.testing.assert_array_equal(one.latents.to_numpy(), three.latents.to_numpy())
    for m in ("1", "2"):
        np.testing.assert_array_equal(
            one.data.filter(like=f"{m}__").to_numpy(), three.data.filter(like=f"{m}.v1__").to_numpy()
        )
    assert not np.allclose(
        three.data.filter(like="1.v1__").to_numpy(), three.data.filter(like="1.v2__").to_numpy()
    )


def test_causal_digits_measurements_are_new_images_of_the_same_latents():
    one = make_causal_digits(n_samples=200, image_size=8, noise=0.0, random_state=4)
    three = make_causal_digits(
        n_samples=200, image_size=8, noise=0.0, n_measurements=3, random_state=4
    )
    assert sorted(three.images) == ["1.v1", "1.v2", "1.v3", "2.v1", "2.v2", "2.v3"]
    assert three.data.shape == (200, 6 * 192)
    np.testing.assert_array_equal(one.latents.to_numpy(), three.latents.to_numpy())
    for m in ("1", "2"):  # the first image is the one a single measurement draws
        np.testing.assert_array_equal(one.images[m], three.images[f"{m}.v1"])
        np.testing.assert_array_equal(
            one.data.filter(like=f"{m}__").to_numpy(), three.data.filter(like=f"{m}.v1__").to_numpy()
        )
    # another exemplar of the digit: the images differ, the background they share does not
    first, second = three.images["2.v1"], three.images["2.v2"]
    assert not np.allclose(first, second)
    np.testing.assert_allclose(first[:, 0, 0], second[:, 0, 0])
    with pytest.raises(ValueError, match="n_measurements must be a positive int"):
        make_causal_digits(n_samples=5, n_measurements=0)


def test_named_graphs():
    cross = make_multimodal_causal(n_samples=20, graph="cross", random_state=0).graph
    edges = {(i, j) for i in cross.index for j in cross.columns if cross.loc[i, j]}
    assert edges == {("z1_1", "z2_1"), ("z1_2", "z2_2")}
    chain = make_multimodal_causal(n_samples=20, graph="chain", random_state=0).graph
    assert int(chain.to_numpy().sum()) == 3
    fork = make_multimodal_causal(n_samples=20, latent_dim=3, graph="fork", random_state=0).graph
    edges = {(i, j) for i in fork.index for j in fork.columns if fork.loc[i, j]}
    assert edges == {("z1_1", "z1_2"), ("z1_1", "z1_3"), ("z1_1", "z2_1"),
                     ("z2_1", "z2_2"), ("z2_1", "z2_3")}
    with pytest.raises(ValueError, match="'chain', 'fork', 'cross'"):
        make_multimodal_causal(n_samples=20, graph="star")


def test_edge_strength_scales_how_much_parents_explain():
    corr = [
        abs(
            make_multimodal_causal(
                n_samples=3000, graph="cross", shared_dim=0, edge_strength=k, random_state=0
            ).latents.corr().loc["z1_1", "z2_1"]
        )
        for k in (0.0, 1.0, 2.0)
    ]
    assert corr[0] < 0.1 < corr[1] < corr[2]
    with pytest.raises(ValueError, match="edge_strength"):
        make_multimodal_causal(n_samples=10, edge_strength=-1)


def _digest(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


@pytest.mark.parametrize("modulation", [None, 0.0])
def test_no_shared_modulation_gives_the_earlier_generators_data(modulation):
    # digests and values of the generators before shared_modulation existed (same seed)
    extra = {} if modulation is None else {"shared_modulation": modulation}
    data = make_multimodal_causal(n_samples=50, n_measurements=2, random_state=3, **extra)
    assert _digest(data.latents.to_numpy()).startswith("6c55815ead579494")
    np.testing.assert_allclose(
        data.data.to_numpy()[0, :4], [-0.59299262, -0.7940584, -2.09380094, 2.43962431], rtol=1e-7
    )
    laplace = make_multimodal_causal(
        n_samples=50, latent_dim=3, noise_distribution="laplace", random_state=3, **extra
    )
    assert _digest(laplace.latents.to_numpy()).startswith("daf0bfe95984f250")
    digits = make_causal_digits(n_samples=10, image_size=8, random_state=3, **extra)
    assert _digest(digits.latents.to_numpy()).startswith("329a500011e7e4f8")


def _noise_scale_ratio(latents, shared):
    """Per latent, the std for s above 1 over the std for s below -1 (largest first)."""
    high, low = shared > 1, shared < -1
    ratio = latents[high].std(axis=0) / latents[low].std(axis=0)
    return np.maximum(ratio, 1 / ratio)


def test_shared_modulation_moves_every_latents_mean_and_noise_scale():
    # no edges: every latent is a source, so its spread given s is its noise's
    kwargs = dict(n_samples=6000, graph=np.zeros((4, 4)), shared_strength=0.0, random_state=0)
    plain = make_multimodal_causal(**kwargs).latents.to_numpy()
    modulated = make_multimodal_causal(shared_modulation=1.0, **kwargs).latents.to_numpy()
    assert np.all(_noise_scale_ratio(plain[:, :4], plain[:, 4]) < 1.3)
    assert np.all(_noise_scale_ratio(modulated[:, :4], modulated[:, 4]) > 3.0)
    # the mean moves too: s explains part of each latent without the linear effect
    for latents in (plain, modulated):
        knn = KNeighborsRegressor(50).fit(latents[:3000, 4:], latents[:3000, :4])
        explained = knn.score(latents[3000:, 4:], latents[3000:, :4])
        assert (explained > 0.1) == (latents is modulated)
    digits = make_causal_digits(n_samples=3000, shared_modulation=1.0, random_state=0)
    latents = digits.latents.to_numpy()
    assert _noise_scale_ratio(latents[:, :1], latents[:, 4])[0] > 2.0  # z1_1 is a source
    with pytest.raises(ValueError, match="shared_modulation"):
        make_multimodal_causal(n_samples=10, shared_modulation=-1.0)
    with pytest.raises(ValueError, match="shared_modulation"):
        make_causal_digits(n_samples=10, shared_modulation=-1.0)


def test_causal_digits_graph_parameter():
    cross = make_causal_digits(n_samples=5, image_size=8, graph="cross", random_state=0).graph
    edges = {(i, j) for i in cross.index for j in cross.columns if cross.loc[i, j]}
    assert edges == {("z1_1", "z2_1"), ("z1_2", "z2_2")}
    with pytest.raises(ValueError, match="shape"):
        make_causal_digits(n_samples=5, graph=np.zeros((3, 3)))
