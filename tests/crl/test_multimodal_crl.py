"""MultimodalCRL and BetaVAE as scikit-learn estimators: names, inputs, masks, persistence, errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from sklearn.base import clone

from skpersona.crl import BetaVAE, MultimodalCRL
from skpersona.datasets import make_causal_digits, make_multimodal_causal

from ._settings import FAST, PLAIN


def test_named_latents_and_pandas_output(data, fitted):
    names = ["z1_1", "z1_2", "z2_1", "z2_2", "s_1"]
    assert fitted.get_feature_names_out().tolist() == names
    out = clone(fitted).set_output(transform="pandas").fit(data.data).transform(data.data)
    assert isinstance(out, pd.DataFrame) and out.columns.tolist() == names
    assert fitted.modalities_ == ["1", "2"]
    assert list(fitted.adjacency_.index) == names == list(fitted.adjacency_.columns)
    assert set(np.unique(fitted.graph_.to_numpy())) <= {0, 1}


def test_prior_mask_zeros_stay_zero(data):
    mask = pd.DataFrame([[1, 0], [1, 1]], index=["1", "2"], columns=["1", "2"])
    crl = MultimodalCRL(prior_mask=mask, **PLAIN).fit(data.data)
    across = crl.adjacency_.loc[["z1_1", "z1_2"], ["z2_1", "z2_2"]].to_numpy()
    within = crl.adjacency_.loc[["z1_1"], ["z1_2"]].to_numpy()
    assert np.all(across == 0)
    assert np.all(within != 0)  # modality-level diagonal: edges inside a modality stay allowed


@pytest.mark.parametrize("model", ["fitted", "plain"])
def test_shared_latents_are_sources(data, fitted, plain, model):
    # PersonaX's s acts on the content latents and is caused by none of them: no
    # z -> s edge may be learned, in the first fit (plain) or after the DAG search
    est = fitted if model == "fitted" else plain
    mask = est.net_.module_.prior.mask.numpy()
    assert np.all(mask[:4, 4:] == 0)
    assert model == "fitted" or np.all(mask[4:, :4] == 1)  # s -> z stays allowed
    assert np.all(est.adjacency_.loc[:, ["s_1"]].to_numpy() == 0)
    if est.dag_search_ is not None:
        assert all(child != "s_1" for _, child in est.dag_search_["edges"])
    # a latent-level prior_mask cannot allow them either
    names = est.adjacency_.index.tolist()
    allow_all = pd.DataFrame(np.ones((5, 5)), index=names, columns=names)
    masked = MultimodalCRL(**{**PLAIN, "max_epochs": 1, "prior_mask": allow_all}).fit(data.data)
    assert np.all(masked.net_.module_.prior.mask.numpy()[:4, 4:] == 0)


def test_latent_level_prior_mask_and_favoured_edges(data):
    names = ["z1_1", "z1_2", "z2_1", "z2_2"]
    mask = pd.DataFrame(np.zeros((4, 4)), index=names, columns=names)
    mask.loc["z1_1", "z2_1"] = 2.0  # allowed, half the L1 penalty
    crl = MultimodalCRL(prior_mask=mask, **PLAIN).fit(data.data)
    # the prior allows a 1 -> 2 edge only: the order 2 > 1 is nested in 1 > 2, not searched
    assert list(crl.order_scores_) == ["1 > 2"]
    content = crl.adjacency_.loc[names, names].to_numpy() != 0
    assert content.sum() == 1 and crl.adjacency_.loc["z1_1", "z2_1"] != 0
    penalty = crl.net_.module_.prior.penalty.numpy()
    assert penalty[0, 2] == pytest.approx(0.5)


def test_bad_prior_masks_are_explained(data):
    with pytest.raises(ValueError, match="neither the modalities"):
        MultimodalCRL(prior_mask=pd.DataFrame([[1]], index=["a"], columns=["a"]), **FAST).fit(
            data.data
        )
    with pytest.raises(ValueError, match="expected"):
        MultimodalCRL(prior_mask=np.ones((3, 3)), **FAST).fit(data.data)
    with pytest.raises(ValueError, match="causal_order"):
        MultimodalCRL(causal_order=["1", "3"], **FAST).fit(data.data)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_prior_mask_with_nan_or_inf_is_refused(data, bad):
    # A NaN weight used to pass the non-negativity check and train on NaN penalties.
    mask = pd.DataFrame([[1, bad], [1, 1]], index=["1", "2"], columns=["1", "2"])
    with pytest.raises(ValueError, match=r"prior_mask has NaN or infinite entries \(at \[\[0, 1\]\]\)"):
        MultimodalCRL(prior_mask=mask, **FAST).fit(data.data)
    with pytest.raises(ValueError, match="NaN or infinite"):
        MultimodalCRL(prior_mask=mask.to_numpy(), **FAST).fit(data.data)


def test_causal_order_reorders_modalities(data):
    crl = MultimodalCRL(causal_order=["2", "1"], **FAST).fit(data.data)
    assert crl.modalities_ == ["2", "1"]
    assert crl.get_feature_names_out().tolist()[:2] == ["z2_1", "z2_2"]


def test_measurements_share_their_modality_latents():
    data = make_multimodal_causal(
        n_samples=120, n_features=5, n_measurements=[3, 1], modality_names=["text", "face"],
        random_state=1,
    )
    assert data.data.columns[0] == "text.v1__x0"
    crl = MultimodalCRL(latent_dim={"text": 1, "face": 2}, **FAST).fit(data.data)
    assert crl.measurements_ == {"text": ["v1", "v2", "v3"], "face": ["face"]}
    module = crl.net_.module_
    assert len(module.encoders) == len(module.decoders) == 4
    assert crl.get_feature_names_out().tolist() == ["ztext_1", "zface_1", "zface_2", "s_1"]


def test_explicit_modalities_on_a_plain_array(data):
    X = data.data.to_numpy()
    crl = MultimodalCRL(modalities={"a": slice(0, 6), "b": list(range(6, 12))}, **FAST).fit(X)
    assert crl.modalities_ == ["a", "b"]
    assert crl.transform(X).shape == (240, 5)
    single = MultimodalCRL(**FAST).fit(X)  # unprefixed columns form one modality
    assert single.get_feature_names_out().tolist() == ["zx_1", "zx_2", "s_1"]


def test_reproducible_clone_and_pickle(data, fitted):
    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    threads = torch.get_num_threads()
    again = clone(fitted).fit(data.data)
    assert torch.equal(torch.get_rng_state(), before)  # fit leaves the global RNG alone
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(again.transform(data.data), fitted.transform(data.data))
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(data.data), fitted.transform(data.data))
    assert restored.score(data.data) == fitted.score(data.data)


def test_beta_vae_same_interface(data):
    vae = BetaVAE(n_components=3, **FAST).set_output(transform="pandas").fit(data.data)
    out = vae.transform(data.data)
    assert out.columns.tolist() == ["z_1", "z_2", "z_3"]
    assert np.isfinite(vae.score(data.data))
    assert not hasattr(vae, "adjacency_")
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(data.data), out.to_numpy())


@pytest.mark.parametrize("model", ["crl", "crl_flow", "vae"])
def test_skops_round_trip(data, model):
    est = {
        "crl": MultimodalCRL(**FAST),
        "crl_flow": MultimodalCRL(n_flow_layers=2, **FAST),
        "vae": BetaVAE(n_components=3, **FAST),
    }[model].fit(data.data)
    blob = skops.io.dumps(est)
    untrusted = skops.io.get_untrusted_types(data=blob)
    assert untrusted == [
        "skpersona.crl._betavae.BetaVAE" if model == "vae"
        else "skpersona.crl._multimodal.MultimodalCRL"
    ]
    restored = skops.io.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(restored.transform(data.data), est.transform(data.data))
    assert restored.score(data.data) == est.score(data.data)
    assert len(restored.net_.history) == est.n_epochs_
    if model != "vae":
        pd.testing.assert_frame_equal(restored.adjacency_, est.adjacency_)
    # the live estimator is untouched by serialisation
    assert hasattr(est, "net_")


@pytest.fixture(scope="module")
def digits():
    return make_causal_digits(200, image_size=6, random_state=0)


def test_image_modalities_get_convolutions_and_survive_skops(digits):
    from skpersona.crl._modules import ImageDecoder, ImageEncoder

    crl = MultimodalCRL(image_shape={"2": (6, 6, 3)}, **FAST).fit(digits.data)
    module = crl.net_.module_
    kinds = [(type(e).__name__, type(d).__name__) for e, d in zip(module.encoders, module.decoders)]
    # modality 1 keeps its MLP, modality 2 (the image) gets convolutions
    assert kinds == [("Sequential", "Sequential"), (ImageEncoder.__name__, ImageDecoder.__name__)]
    assert crl.transform(digits.data).shape == (200, 5)
    blob = skops.io.dumps(crl)
    # the image modules travel inside the net's state: the file asks trust for the
    # estimator alone, as the CLI's load_model grants it
    untrusted = skops.io.get_untrusted_types(data=blob)
    assert untrusted == ["skpersona.crl._multimodal.MultimodalCRL"]
    restored = skops.io.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(restored.transform(digits.data), crl.transform(digits.data))


@pytest.mark.parametrize(
    "shape, message",
    [
        ({"3": (6, 6, 3)}, "names modalities \\['3'\\]"),
        ({"1": (6, 6)}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 0)}, "must be \\(height, width, channels\\)"),
        ({"1": "6x6"}, "must be \\(height, width, channels\\)"),
        # a string of three digits or a float would otherwise pass as numbers
        ({"1": "663"}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 3.5)}, "must be \\(height, width, channels\\)"),
        ({"1": (6, 6, 2)}, "needs 72 columns per measurement, got 108"),
    ],
)
def test_bad_image_shapes_are_explained(digits, shape, message):
    with pytest.raises(ValueError, match=message):
        MultimodalCRL(image_shape=shape, **FAST).fit(digits.data)


@pytest.mark.parametrize(
    "make, message",
    [
        # 2,000,001 latents: the prior's adjacency alone would be 29 TiB (issue 24)
        (lambda: MultimodalCRL(latent_dim=10**6), "2,000,001 latents over 2 modalities"),
        (lambda: MultimodalCRL(latent_dim={"1": 1, "2": 1000}), "1,002 latents"),
        # a 10**6 x 10**6 hidden layer: 4 TB of weights
        (lambda: MultimodalCRL(hidden_size=10**6), "parameters .*lower hidden_size"),
        (lambda: BetaVAE(hidden_size=10**6), "BetaVAE would train a network of"),
    ],
)
def test_absurd_sizes_are_refused_before_anything_is_allocated(data, make, message):
    with pytest.raises(ValueError, match=message):
        make().set_params(max_epochs=1).fit(data.data)


def test_the_largest_allowed_sizes_are_not_refused(data):
    # 1,000 latents in all are accepted (the refusal is for mistyped sizes, not large models)
    from skpersona.crl._multimodal import _MAX_LATENTS

    est = MultimodalCRL(latent_dim={"1": 1, "2": _MAX_LATENTS - 2})
    layout = est._layout(data.data.to_numpy(), np.asarray(data.data.columns, dtype=object))
    assert sum(layout.latent_dims) + layout.n_shared == _MAX_LATENTS


def test_a_file_saved_before_the_module_split_still_loads(data, fitted):
    # files written before the estimators left crl/_estimators.py name that module;
    # skops finds the class there, so the file loads once its type is trusted
    import io
    import zipfile

    blob = skops.io.dumps(fitted)
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "schema.json":
                content = content.replace(b"skpersona.crl._multimodal", b"skpersona.crl._estimators")
            dst.writestr(item, content)
    untrusted = skops.io.get_untrusted_types(data=old.getvalue())
    assert untrusted == ["skpersona.crl._estimators.MultimodalCRL"]
    restored = skops.io.loads(old.getvalue(), trusted=untrusted)
    assert type(restored) is MultimodalCRL
    np.testing.assert_array_equal(restored.transform(data.data), fitted.transform(data.data))
