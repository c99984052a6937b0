"""Synthetic multimodal data with a known latent causal graph (PersonaX Level II).

Two generators share one latent model: one block of content latents per modality
(``z<modality>_<i>``) plus shared latents (``s_<i>``) that every modality sees;
the content latents follow a nonlinear structural causal model over a known DAG,

    ``z_i = f_i(parents(z_i)) + c_i * s + lam * mu_i(s) + exp(lam * nu_i(s)) * noise_i``

with bounded nonlinear ``mu_i`` and ``nu_i`` and ``lam = shared_modulation``.

Identifiability assumption. With ``shared_modulation > 0`` the shared latent
acts on every content latent's mechanism: it moves the mean of ``z_i`` given its
parents and, through ``nu_i``, its noise scale, each latent with its own
random direction in ``s``. This is PersonaX's generative model
(``z_{m,i} = g(Pa(z_{m,i}), s, eps_{m,i})``) and the condition, as in iVAE
(Khemakhem et al., 2020), under which component-wise identifiability of the
content latents is claimed: their conditional distributions given ``s`` vary
enough, and differently, across values of ``s``. ``shared_modulation=0``
(the default) gives the data of the earlier generators exactly: ``s`` only
shifts each mean linearly and the noise scales do not depend on it, the
"assumption violated" setting, under which only blocks are identified.

* :func:`make_multimodal_causal` mixes each modality's latents (its own block
  and ``s``) into features with a random invertible multilayer perceptron, once
  per measurement (each measurement has its own mixing and its own noise level).
* :func:`make_causal_digits` draws small coloured images in the spirit of
  PersonaX's coloured-digit benchmark (true DAG ``z1_1 -> z1_2``,
  ``z1_1 -> z2_1``, ``z2_1 -> z2_2``): the latents set the colour, size and
  position of scikit-learn's 8x8 digits on a small canvas.
"""

import numpy as np
import pandas as pd
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_causal_digits", "make_multimodal_causal"]


def _latent_names(modality_names, latent_dim, shared_dim):
    names = [f"z{m}_{i + 1}" for m in modality_names for i in range(latent_dim)]
    return names, [f"s_{i + 1}" for i in range(shared_dim)]


def _default_graph(n_modalities, latent_dim, kind="chain"):
    """Named DAGs among content latents (see ``make_multimodal_causal``'s ``graph``)."""
    size = n_modalities * latent_dim
    graph = np.zeros((size, size), dtype=int)
    for m in range(n_modalities):
        base = m * latent_dim
        if kind in ("chain", "fork"):
            for i in range(latent_dim - 1):  # z_1 -> z_2 -> ... or z_1 -> every z_i
                graph[base + (i if kind == "chain" else 0), base + i + 1] = 1
            if m + 1 < n_modalities:
                graph[base, base + latent_dim] = 1
        elif kind == "cross":
            if m + 1 < n_modalities:
                for i in range(latent_dim):
                    graph[base + i, base + latent_dim + i] = 1
        else:
            raise ValueError(
                f"graph must be 'chain', 'fork', 'cross' or an adjacency matrix, got {kind!r}."
            )
    return graph


def _topological_order(graph):
    graph = np.asarray(graph) != 0
    remaining = list(range(graph.shape[0]))
    order = []
    while remaining:
        free = [j for j in remaining if not graph[remaining, j].any()]
        if not free:
            raise ValueError(
                "`graph` has a directed cycle; pass the adjacency of a DAG "
                "(graph[i, j] = 1 means latent i causes latent j)."
            )
        order.extend(free)
        remaining = [j for j in remaining if j not in free]
    return order


def _sample_noise(rng, distribution, size):
    if distribution == "gaussian":
        return rng.standard_normal(size)
    if distribution == "laplace":
        return rng.laplace(scale=1 / np.sqrt(2), size=size)
    if distribution == "uniform":
        return rng.uniform(-np.sqrt(3), np.sqrt(3), size=size)
    raise ValueError(
        f"noise_distribution must be 'gaussian', 'laplace' or 'uniform', got {distribution!r}."
    )


def _modulation(rng, shared, strength):
    """``strength * mu(s)`` and ``exp(strength * nu(s))``: the shift and noise scale by
    which ``s`` modulates one latent's mechanism (each along its own random directions)."""
    directions = rng.standard_normal((2, shared.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sign, bend = rng.choice([-1.0, 1.0]), rng.uniform(1.0, 2.0)
    shift = strength * sign * np.tanh(bend * shared @ directions[0])
    return shift, np.exp(strength * np.tanh(shared @ directions[1]))


def _sample_latents(
    rng, graph, n_samples, shared_dim, shared_strength, distribution, edge_strength=1.0,
    shared_modulation=0.0,
):
    """Sample the SCM: nonlinear parent effects, a shared influence, exogenous noise."""
    size = graph.shape[0]
    shared = rng.standard_normal((n_samples, shared_dim))
    latents = np.zeros((n_samples, size))
    for j in _topological_order(graph):
        parents = np.flatnonzero(graph[:, j])
        value = _sample_noise(rng, distribution, n_samples)
        if shared_modulation and shared_dim:  # no draws at 0: the earlier data, exactly
            shift, scale = _modulation(rng, shared, shared_modulation)
            value = shift + scale * value
        for p in parents:
            weight = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 0.8) * edge_strength
            bend = rng.uniform(0.5, 1.5)
            value = value + weight * (0.5 * latents[:, p] + np.tanh(bend * latents[:, p]))
        if shared_dim:
            coef = rng.uniform(-1.0, 1.0, size=shared_dim) * shared_strength
            value = value + shared @ coef
        latents[:, j] = (value - value.mean()) / value.std()
    return latents, shared


def _invertible_mlp(rng, inputs, n_features, depth):
    """Map inputs to n_features with a full-rank linear map and leaky-ReLU layers."""
    n_in = inputs.shape[1]
    if n_features < n_in:
        raise ValueError(
            f"n_features={n_features} is smaller than the {n_in} latents a measurement "
            "depends on; the mixing would not be invertible. Raise n_features."
        )
    weight, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    out = inputs @ weight[:n_in]
    for _ in range(depth):
        out = np.where(out > 0, out, 0.2 * out)
        square, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
        out = out @ (square * rng.uniform(0.8, 1.2, size=n_features))
        out = out + rng.uniform(-0.5, 0.5, size=n_features)
    return (out - out.mean(axis=0)) / out.std(axis=0)


def make_multimodal_causal(
    n_samples=1000,
    *,
    n_modalities=2,
    latent_dim=2,
    shared_dim=1,
    n_measurements=1,
    n_features=10,
    graph=None,
    mixing_depth=2,
    noise=0.05,
    noise_distribution="gaussian",
    shared_strength=0.5,
    shared_modulation=0.0,
    edge_strength=1.0,
    modality_names=None,
    random_state=None,
):
    """Generate multimodal observations from latents with a known causal graph.

    Each modality ``m`` has ``latent_dim`` content latents ``z<m>_<i>``; all
    modalities share ``shared_dim`` latents ``s_<i>``. The content latents
    follow an SCM over ``graph`` (nonlinear parent effects, a linear influence
    of ``s``, exogenous noise whose mean and scale ``s`` modulates when
    ``shared_modulation > 0``), each standardised; see the module
    documentation for the identifiability assumption this encodes. Every
    measurement of modality ``m`` is an independent random invertible mixing
    (a full-rank linear lift and ``mixing_depth`` leaky-ReLU layers) of
    ``(z_m, s)`` plus Gaussian measurement noise of its own level.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    n_modalities : int, default=2
        Number of modalities.
    latent_dim : int, default=2
        Content latents per modality.
    shared_dim : int, default=1
        Shared latents (0 for none).
    n_measurements : int or list of int, default=1
        Measurements per modality (one int for all, or one per modality).
    n_features : int, default=10
        Features per measurement; at least ``latent_dim + shared_dim``.
    graph : {"chain", "fork", "cross"}, array-like of shape (n_latents, n_latents) or None, \
            default=None
        Adjacency of the DAG among content latents, ``graph[i, j] = 1`` for
        ``i -> j``, latents in modality order. ``"chain"`` (or None) gives a
        chain inside each modality plus ``z<m>_1 -> z<m+1>_1`` (for two
        modalities of two latents: PersonaX's ``z1_1 -> z1_2, z1_1 -> z2_1,
        z2_1 -> z2_2``). ``"fork"`` replaces each modality's chain by edges
        from its first latent to each other one (``z<m>_1 -> z<m>_i``), plus
        the same cross edge. ``"cross"`` gives ``z<m>_i -> z<m+1>_i`` for every
        ``i``: each content latent has its own neighbour in the other
        modality, the structural sparsity under which multimodal CRL
        identifies single latents (not only blocks); inside a modality the
        ``"chain"`` edges can be traded for other latents of the same block
        without changing the distribution of the observations.
    mixing_depth : int, default=2
        Nonlinear layers of each mixing.
    noise : float, default=0.05
        Typical measurement-noise standard deviation; each measurement draws
        its own level in ``[0.5, 1.5] * noise``.
    noise_distribution : {"gaussian", "laplace", "uniform"}, default="gaussian"
        Distribution of the exogenous noise of the SCM.
    shared_strength : float, default=0.5
        Scale of the shared latents' linear effect on the content latents' means.
    shared_modulation : float, default=0.0
        Strength ``lam`` with which ``s`` modulates each content latent's
        mechanism: a bounded nonlinear shift of its mean (up to ``lam``
        standard deviations of the noise) and a factor ``exp(lam * nu(s))``,
        between ``exp(-lam)`` and ``exp(lam)``, on its noise scale. Above 0 the
        data meet the identifiability assumption of the module documentation;
        0 gives the earlier generator's data exactly (the assumption violated).
    edge_strength : float, default=1.0
        Scale of every causal effect among content latents (weights drawn
        in ``[0.5, 0.8] * edge_strength``); larger values make a latent's
        parents explain more of its variance.
    modality_names : list of str or None, default=None
        Names of the modalities; ``"1", "2", ...`` by default.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame of observations; columns ``<m>__x<k>`` with one
        measurement per modality, ``<m>.v<j>__x<k>`` with several, the form
        :class:`~skpersona.crl.MultimodalCRL` reads), ``latents`` (DataFrame of
        the true content and shared latents), ``graph`` (DataFrame, true
        adjacency among content latents, rows cause columns), ``modalities``
        (list of names), ``measurement_noise`` (dict measurement -> std) and
        ``feature_names``.

    Examples
    --------
    >>> from skpersona.datasets import make_multimodal_causal
    >>> data = make_multimodal_causal(n_samples=50, random_state=0)
    >>> data.data.shape, list(data.latents.columns)
    ((50, 20), ['z1_1', 'z1_2', 'z2_1', 'z2_2', 's_1'])
    >>> int(data.graph.to_numpy().sum())
    3
    """
    rng = check_random_state(random_state)
    if n_modalities < 1 or latent_dim < 1 or shared_dim < 0 or n_samples < 1:
        raise ValueError(
            "n_samples, n_modalities and latent_dim must be positive and shared_dim non-negative."
        )
    names = (
        [str(i + 1) for i in range(n_modalities)]
        if modality_names is None
        else [str(m) for m in modality_names]
    )
    if len(names) != n_modalities:
        raise ValueError(f"modality_names has {len(names)} names for {n_modalities} modalities.")
    counts = (
        [int(n_measurements)] * n_modalities
        if np.ndim(n_measurements) == 0
        else [int(c) for c in n_measurements]
    )
    if len(counts) != n_modalities or min(counts) < 1:
        raise ValueError("n_measurements must be a positive int or one positive int per modality.")
    size = n_modalities * latent_dim
    if graph is None or isinstance(graph, str):
        graph = _default_graph(n_modalities, latent_dim, "chain" if graph is None else graph)
    graph = np.asarray(graph)
    if graph.shape != (size, size):
        raise ValueError(f"graph must have shape ({size}, {size}), got {graph.shape}.")
    graph = (graph != 0).astype(int)
    if edge_strength < 0:
        raise ValueError(f"edge_strength must be non-negative, got {edge_strength}.")
    if shared_modulation < 0:
        raise ValueError(f"shared_modulation must be non-negative, got {shared_modulation}.")
    latents, shared = _sample_latents(
        rng, graph, n_samples, shared_dim, shared_strength, noise_distribution, edge_strength,
        shared_modulation,
    )
    blocks, columns, noise_levels = [], [], {}
    # One seed per modality, then one stream per measurement: measurement j keeps
    # its mixing and noise when measurements are added (fixed-mixing comparisons).
    modality_seeds = rng.randint(np.iinfo(np.int32).max, size=n_modalities)
    for m, name in enumerate(names):
        inputs = np.hstack([latents[:, m * latent_dim : (m + 1) * latent_dim], shared])
        for j in range(counts[m]):
            stream = np.random.RandomState([int(modality_seeds[m]), j])
            prefix = name if counts[m] == 1 else f"{name}.v{j + 1}"
            level = noise * stream.uniform(0.5, 1.5)
            mixed = _invertible_mlp(stream, inputs, n_features, mixing_depth)
            blocks.append(mixed + level * stream.standard_normal(mixed.shape))
            columns.extend(f"{prefix}__x{k}" for k in range(n_features))
            noise_levels[prefix] = level
    z_names, s_names = _latent_names(names, latent_dim, shared_dim)
    data = pd.DataFrame(np.hstack(blocks), columns=columns)
    return Bunch(
        data=data,
        latents=pd.DataFrame(np.hstack([latents, shared]), columns=z_names + s_names),
        graph=pd.DataFrame(graph, index=z_names, columns=z_names),
        modalities=names,
        measurement_noise=noise_levels,
        feature_names=np.asarray(columns, dtype=object),
    )


_HUES = np.array([[1.0, 0.1, 0.1], [0.1, 1.0, 0.1], [0.1, 0.1, 1.0]])


def _colour(value):
    """Map a standardised value to an RGB colour along red -> green -> blue."""
    t = np.clip((np.tanh(value) + 1) / 2, 0, 1) * 2
    low = np.floor(np.minimum(t, 1.999)).astype(int)
    frac = (t - low)[:, None]
    return _HUES[low] * (1 - frac) + _HUES[low + 1] * frac


def _render(digits, scale, shift_x, shift_y, colour, background, size):
    """Draw one 8x8 digit per sample, zoomed and shifted, on a grey size x size RGB canvas."""
    n = len(digits)
    canvas = np.zeros((n, size, size, 3))
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(float)
    centre = (size - 1) / 2
    for k in range(n):
        src_y = (grid_y - centre - shift_y[k]) / scale[k] + 3.5
        src_x = (grid_x - centre - shift_x[k]) / scale[k] + 3.5
        ink = ndimage.map_coordinates(digits[k], [src_y, src_x], order=1, cval=0.0)
        ink = np.clip(ink, 0.0, 1.0)[:, :, None]
        canvas[k] = ink * colour[k] + (1 - ink) * background[k]
    return canvas.reshape(n, -1)


def _digit_images(digit):
    """scikit-learn's bundled 8x8 digits in [0, 1], only class ``digit`` unless None."""
    from sklearn.datasets import load_digits

    bank = load_digits()
    images = bank.images / 16.0
    return images if digit is None else images[bank.target == int(digit)]


def _draw_digits(modality, digits, latents, shared, size):
    """Noise-free images of ``make_causal_digits``'s modality 0 or 1 for given latents.

    ``latents`` holds the four content latents (``z1_1, z1_2, z2_1, z2_2``) and
    ``shared`` the shared one, which sets the background grey of both.
    """
    n_samples = len(latents)
    background = 0.25 * (1 + np.tanh(shared[:, 0]))
    if modality == 0:  # colour and size
        return _render(
            digits,
            scale=size / 10 * (1 + 0.35 * np.tanh(latents[:, 1])),
            shift_x=np.zeros(n_samples),
            shift_y=np.zeros(n_samples),
            colour=_colour(latents[:, 0]),
            background=background,
            size=size,
        )
    span = size / 6  # position of a white digit
    return _render(
        digits,
        scale=np.full(n_samples, size / 14),
        shift_x=span * np.tanh(latents[:, 2]),
        shift_y=span * np.tanh(latents[:, 3]),
        colour=np.ones((n_samples, 3)),
        background=background,
        size=size,
    )


def make_causal_digits(
    n_samples=1000,
    *,
    image_size=12,
    noise=0.02,
    digit=3,
    n_measurements=1,
    graph="chain",
    shared_modulation=0.0,
    random_state=None,
):
    """Generate two modalities of small coloured digit images with a known latent DAG.

    In the spirit of PersonaX's coloured-digit benchmark: two modalities with
    two content latents each and one shared latent; the true DAG is
    ``z1_1 -> z1_2``, ``z1_1 -> z2_1``, ``z2_1 -> z2_2`` (``graph="chain"``).
    Modality ``1`` shows a
    digit whose colour follows ``z1_1`` and size ``z1_2``; modality ``2`` a
    digit whose horizontal position follows ``z2_1`` and vertical position
    ``z2_2``. The shared latent ``s_1`` sets the grey level of both backgrounds.
    Digits come from scikit-learn's bundled 8x8 digits (no download).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    image_size : int, default=12
        Side of each square RGB canvas; each image has ``3 * image_size**2``
        features.
    noise : float, default=0.02
        Standard deviation of Gaussian pixel noise.
    digit : int or None, default=3
        Draw only this digit class (0 to 9), one random image of it per sample
        and image; None draws any digit (its identity is then a nuisance
        factor that the latents do not explain).
    n_measurements : int, default=1
        Images per modality and sample: the same latents drawn on another
        random image of the digit, with its own pixel noise (several photos
        of one scene). The first image is the same whatever the count, so
        counts compare under fixed data.
    graph : {"chain", "cross"} or array-like of shape (4, 4), default="chain"
        The DAG among the four content latents, as in
        :func:`make_multimodal_causal` (``"chain"`` has an edge inside each
        modality and one across; with two latents a modality's fork is its chain).
    shared_modulation : float, default=0.0
        How strongly ``s_1`` modulates each content latent's mean and noise
        scale, as in :func:`make_multimodal_causal`; 0 gives the earlier
        data exactly (the identifiability assumption violated).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame, columns ``1__p<k>`` and ``2__p<k>``, or
        ``<m>.v<j>__p<k>`` with several measurements), ``images`` (dict
        measurement -> array of shape (n_samples, image_size, image_size, 3),
        keyed like the column prefixes), ``latents``, ``graph``,
        ``modalities`` and ``feature_names`` as in :func:`make_multimodal_causal`.

    Examples
    --------
    >>> from skpersona.datasets import make_causal_digits
    >>> data = make_causal_digits(n_samples=20, image_size=10, random_state=0)
    >>> data.data.shape, data.images["1"].shape
    ((20, 600), (20, 10, 10, 3))
    >>> sorted(make_causal_digits(n_samples=5, n_measurements=2, random_state=0).images)
    ['1.v1', '1.v2', '2.v1', '2.v2']
    """
    if int(n_measurements) != n_measurements or n_measurements < 1:
        raise ValueError(f"n_measurements must be a positive int, got {n_measurements!r}.")
    if shared_modulation < 0:
        raise ValueError(f"shared_modulation must be non-negative, got {shared_modulation}.")
    rng = check_random_state(random_state)
    graph = (np.asarray(_default_graph(2, 2, graph) if isinstance(graph, str) else graph) != 0)
    if graph.shape != (4, 4):
        raise ValueError(f"graph must have shape (4, 4), got {graph.shape}.")
    graph = graph.astype(int)
    latents, shared = _sample_latents(
        rng, graph, n_samples, 1, 0.5, "uniform", shared_modulation=shared_modulation
    )
    images = _digit_images(digit)

    def draw(modality, pick, pixel_noise):
        rendered = _draw_digits(modality, images[pick], latents, shared, image_size)
        return rendered + noise * pixel_noise(rendered.shape)

    pick = rng.randint(len(images), size=(2, n_samples))
    rendered = [draw(m, pick[m], rng.standard_normal) for m in range(2)]
    by_modality = [[block] for block in rendered]
    # Further images come from one stream per modality and image, drawn after the
    # first images: adding images leaves the earlier ones unchanged.
    modality_seeds = rng.randint(np.iinfo(np.int32).max, size=2)
    for m in range(2):
        for j in range(1, int(n_measurements)):
            stream = np.random.RandomState([int(modality_seeds[m]), j])
            by_modality[m].append(
                draw(m, stream.randint(len(images), size=n_samples), stream.standard_normal)
            )
    n_pix = rendered[0].shape[1]
    blocks, columns, prefixes = [], [], []
    for m, name in enumerate(["1", "2"]):
        for j, block in enumerate(by_modality[m]):
            prefix = name if n_measurements == 1 else f"{name}.v{j + 1}"
            blocks.append(block)
            prefixes.append(prefix)
            columns.extend(f"{prefix}__p{k}" for k in range(n_pix))
    z_names, s_names = _latent_names(["1", "2"], 2, 1)
    return Bunch(
        data=pd.DataFrame(np.hstack(blocks), columns=columns),
        images={
            prefix: np.clip(block, 0, None).reshape(n_samples, image_size, image_size, 3)
            for prefix, block in zip(prefixes, blocks)
        },
        latents=pd.DataFrame(np.hstack([latents, shared]), columns=z_names + s_names),
        graph=pd.DataFrame(graph, index=z_names, columns=z_names),
        modalities=["1", "2"],
        feature_names=np.asarray(columns, dtype=object),
    )
