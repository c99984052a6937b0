"""MultimodalCRL: its parameters, the layout of modalities and latents, the prior mask."""

import itertools
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils import modality_columns
from ..utils._torch import torch_threads as _torch_threads
from ._base import _LatentModel, _Layout, _Run
from ._net import best_loss, validation_index, validation_rows
from ._structure import (
    MIN_GRAPH_ROWS,
    aligned_validation_latents,
    choose_order,
    drop_nested,
    greedy_dag,
    noise_dependence,
    order_name,
    residual_dependence,
    search_dag,
    topological_order,
    warm_start,
)

_SINGLE = "x"
# Up to this many modalities (3! = 6 candidate orders), a missing causal_order
# is found by fitting every order and keeping the one whose inferred noises are
# the most independent on the validation split.
_MAX_ORDER_SEARCH = 3
# Warm-up epochs of shared_warmup="auto" (the schedule tried beside no warm-up).
_AUTO_WARMUP = 15
# Most latents (content and shared): the prior holds several d x d matrices and
# takes a d x d matrix exponential at every step (NOTEARS), so d = 10**6 would ask
# for terabytes; a fit over more than a thousand latents is a mistyped size.
_MAX_LATENTS = 1000


class MultimodalCRL(_LatentModel):
    """Multimodal causal representation learning (PersonaX Level II), trained by skorch.

    One block of content latents ``z<modality>_<i>`` per modality, fed only to
    that modality's decoders, plus shared latents ``s_<i>`` fed to all. The
    latents follow a learnable SCM on standardised latents ``u``: ``u_i = sum_j
    (L[j, i] u_j + B[j, i] tanh(C[j, i] u_j)) + b_i + sigma_i e_i``, each noise
    ``e_i`` a learned mixture of Gaussians. Edge strengths ``A = ||(L, B)||`` (in
    standard deviations) are kept acyclic by NOTEARS' ``h(A)`` and sparse by a
    group lasso; the shared latents are sources (no edge into ``s``). Each
    measurement has its own encoder (pooled per modality as a product of
    experts) and decoder (Gaussian, a learned noise per feature).
    Blocks are identified apart; single latents inside a block only where each
    has its own neighbours in other modalities.

    The fit trains every candidate order of the modalities (up to three) from
    the same ``n_init`` initialisations, with and without a shared warm-up;
    keeps a restart by the independence of its inferred noises and an order by
    the independence of regression residuals (RESIT); searches the DAG over all
    latents and refits under it (``refine_graph``). No choice sees true latents.
    The loss per sample is ``a_recon * NLL + a_ind * KL + a_sp * sum(A) + DAG
    penalty``. What the benchmarks measured: :doc:`/research/crl_notes`.

    Parameters
    ----------
    latent_dim : int or dict of str -> int, default=2
        Content latents per modality (one int for all).
    shared_dim : int, default=1
        Shared latents ``s``.
    modalities : dict or None, default=None
        Column blocks (:func:`skpersona.utils.modality_columns`); by default the
        names' prefixes (``face__...``), else one modality ``x``. A block named
        ``modality.measurement`` is a measurement sharing ``modality``'s latents.
    causal_order : list of str or None, default=None
        Order of the modalities (causes first): edges from a later to an earlier
        modality are forbidden. None searches the order (up to three modalities;
        beyond, the acyclicity penalty alone orders them).
    prior_mask : DataFrame, array-like or None, default=None
        Square prior over modalities, content or all latents (rows parents; e.g.
        ``DependencyScreen.to_prior_mask``): 0 forbids an edge, a positive value
        divides its penalty. Edges from content into shared latents stay
        forbidden.
    a_recon, a_ind, a_sp : float, default=1.0, 1.0, 0.3
        Weights of the Gaussian negative log-likelihood, the KL term and the
        group lasso on edge strengths. Choose ``a_recon`` and ``a_ind`` by
        held-out :meth:`score`, not ``a_sp``: a sparser graph never raises the
        likelihood, so the ELBO never favours the sparsity that identifies it.
    edge_threshold : float, default=0.1
        Edge strength (standard deviations) above which ``graph_`` keeps an edge.
    hidden_size, n_hidden_layers : int, default=64, 2
        Width and depth of the encoder and decoder MLPs (and width of the flow).
    image_shape : dict or None, default=None
        Modalities whose columns are the pixels of an image (row-major, as
        ``images.reshape(n_samples, -1)``), mapped to ``(height, width,
        channels)``: their measurements get convolutional encoders and decoders.
    n_flow_layers : int, default=0
        Affine coupling layers of a conditional posterior flow (0: Gaussian).
    lr, batch_size, max_epochs : float, int, int, default=3e-3, 128, 200
        Adam's learning rate, the minibatch size and the most epochs.
    patience : int or None, default=20
        Early-stopping patience on the validation loss (best epoch kept).
    validation_fraction : float or None, default=0.2
        Share of the rows held out for early stopping and every choice.
    n_init : int, default=1
        Initialisations per candidate order.
    restart_selection : {"elbo", "independence"}, default="independence"
        Keep the restart with the most independent inferred noises, or the best ELBO.
    refine_graph : bool, default=True
        Align each block by ICA of its residuals given ``s``, choose the order by
        residual independence on the fitted rows (up to 2,000), search the DAG by
        RESIT and BIC on the validation rows, and refit warm-started under it.
        False keeps the first fit's SCM, orders chosen by their own noises.
    shared_warmup : "auto" or int, default="auto"
        Epochs at the start of each fresh fit in which the decoders see only
        ``s`` (at most ``max_epochs // 2``). ``"auto"`` fits 0 and 15 from the
        same initialisation and keeps the better validation ELBO.
    n_threads : int or None, default=1
        torch threads while fitting and transforming (None: torch's setting).
    n_score_samples : int, default=16
        Draws per sample of :meth:`score`'s importance-weighted bound (1: ELBO).
    random_state : int, RandomState instance or None, default=None
        Seeds torch, the split and shuffling (CPU fits are reproducible).
    verbose : int, default=0
        skorch's per-epoch table when positive.

    Attributes
    ----------
    net_ : LatentNet
        The fitted skorch net (``net_.history`` holds the losses).
    modalities_, measurements_, latent_dims_ : list, dict, dict
        Modalities (in ``causal_order`` when given), their measurements and sizes.
    modality_order_ : list of str or None
        The kept order of the modalities (None: ordered by the penalty alone).
    order_scores_, order_dependence_, order_tied_ : dict, dict, bool
        Per order, its best validation ELBO and its dependence; whether the least
        dependent tied (then the lowest validation loss wins, not the first listed).
    restart_dependence_, shared_warmup_, dag_search_ : list, int, dict or None
        Per order, each restart's noise dependence; the kept fit's warm-up epochs;
        ``"order"`` and ``"edges"`` of the DAG search (``refine_graph``).
    adjacency_, graph_ : DataFrame
        Edge strengths among all latents (rows parents), the DAG above ``edge_threshold``.
    causal_order_ : list of str
        A topological order of ``graph_`` (also ``n_features_in_``, ``feature_names_in_``).
    n_epochs_, selection_loss_ : int, float
        Epochs and best validation loss of the kept (refitted) net.

    See Also
    --------
    BetaVAE : the beta-VAE baseline with the same interface.

    Examples
    --------
    >>> from skpersona.crl import MultimodalCRL
    >>> from skpersona.datasets import make_multimodal_causal
    >>> data = make_multimodal_causal(n_samples=200, random_state=0)
    >>> crl = MultimodalCRL(max_epochs=3, random_state=0).fit(data.data)
    >>> crl.set_output(transform="pandas").transform(data.data).columns.tolist()
    ['z1_1', 'z1_2', 'z2_1', 'z2_2', 's_1']
    >>> sorted(crl.order_scores_), sorted(crl.dag_search_)
    (['1 > 2', '2 > 1'], ['edges', 'order'])
    """

    _parameter_constraints = {
        **_LatentModel._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left"), dict],
        "shared_dim": [Interval(Integral, 0, None, closed="left")],
        "modalities": [dict, None],
        "causal_order": ["array-like", None],
        "prior_mask": ["array-like", pd.DataFrame, None],
        "a_sp": [Interval(Real, 0, None, closed="left")],
        "edge_threshold": [Interval(Real, 0, None, closed="left")],
        "restart_selection": [StrOptions({"elbo", "independence"})],
        "refine_graph": ["boolean"],
        "shared_warmup": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "image_shape": [dict, None],
    }

    def __init__(
        self,
        latent_dim=2,
        shared_dim=1,
        *,
        modalities=None,
        causal_order=None,
        prior_mask=None,
        a_recon=1.0,
        a_ind=1.0,
        a_sp=0.3,
        edge_threshold=0.1,
        hidden_size=64,
        n_hidden_layers=2,
        image_shape=None,
        n_flow_layers=0,
        lr=3e-3,
        batch_size=128,
        max_epochs=200,
        patience=20,
        validation_fraction=0.2,
        n_init=1,
        restart_selection="independence",
        refine_graph=True,
        shared_warmup="auto",
        n_threads=1,
        n_score_samples=16,
        random_state=None,
        verbose=0,
    ):
        self.latent_dim = latent_dim
        self.shared_dim = shared_dim
        self.modalities = modalities
        self.causal_order = causal_order
        self.prior_mask = prior_mask
        self.a_recon = a_recon
        self.a_ind = a_ind
        self.a_sp = a_sp
        self.edge_threshold = edge_threshold
        self.hidden_size = hidden_size
        self.n_hidden_layers = n_hidden_layers
        self.image_shape = image_shape
        self.n_flow_layers = n_flow_layers
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_init = n_init
        self.restart_selection = restart_selection
        self.refine_graph = refine_graph
        self.shared_warmup = shared_warmup
        self.n_threads = n_threads
        self.n_score_samples = n_score_samples
        self.random_state = random_state
        self.verbose = verbose

    def _a_sp(self):
        return self.a_sp

    def _latent_names(self):
        return self._z_names + [f"s_{i + 1}" for i in range(self.shared_dim)]

    def _warmup_schedules(self, module_args):
        if not module_args["n_shared"]:
            return [0]
        if self.shared_warmup == "auto":  # one schedule when max_epochs leaves no warm-up
            return list(dict.fromkeys([0, min(_AUTO_WARMUP, self.max_epochs // 2)]))
        return [min(self.shared_warmup, self.max_epochs // 2)]

    # -- the layout: modalities, measurements, latents and candidate orders ------------
    def _blocks(self, X, names):
        if self.modalities is None and (
            names is None or not all("__" in str(n) for n in names)
        ):
            return {_SINGLE: np.arange(X.shape[1])}
        return modality_columns(names, self.modalities, X.shape[1])

    def _layout(self, X, names):
        grouped = _split_measurements(self._blocks(X, names))
        order = list(grouped) if self.causal_order is None else [str(m) for m in self.causal_order]
        if sorted(order) != sorted(grouped):
            raise ValueError(
                f"causal_order {order} must list each modality once; the modalities are "
                f"{sorted(grouped)}."
            )
        latent_dims = self._latent_dims(order)
        self.modalities_ = order
        self.measurements_ = {m: [name for name, _ in grouped[m]] for m in order}
        columns, modality_of = [], []
        for k, m in enumerate(order):
            for _, idx in grouped[m]:
                columns.append(np.asarray(idx).tolist())
                modality_of.append(k)
        self.latent_dims_ = dict(zip(order, latent_dims))
        offsets = np.cumsum([0] + list(latent_dims)).tolist()
        self._content_blocks = {
            m: list(range(offsets[k], offsets[k + 1])) for k, m in enumerate(order)
        }
        self._shared_columns = list(range(offsets[-1], offsets[-1] + self.shared_dim))
        self._z_names = [f"z{m}_{i + 1}" for m, d in zip(order, latent_dims) for i in range(d)]
        if self.causal_order is not None or len(order) == 1 or len(order) > _MAX_ORDER_SEARCH:
            # A given order is a constraint; past a few modalities the acyclicity
            # penalty alone orders them (no exhaustive search).
            fixed = self.causal_order is not None or len(order) == 1
            candidates = {tuple(order) if fixed else None: self._allowed(order, latent_dims, fixed)}
        else:
            candidates = drop_nested(
                {
                    perm: self._allowed(order, latent_dims, True, perm)
                    for perm in itertools.permutations(order)
                }
            )
        return _Layout(columns, modality_of, latent_dims, self.shared_dim, candidates)

    def _latent_dims(self, order):
        """Content latents per modality of ``order``; too many latents in all are refused."""
        dims = self.latent_dim
        if isinstance(dims, dict):
            missing = sorted(set(order) - {str(k) for k in dims})
            if missing:
                raise ValueError(f"latent_dim has no entry for modalities {missing}.")
            dims = {str(k): int(v) for k, v in dims.items()}
            if min(dims[m] for m in order) < 1:
                raise ValueError("Every modality needs latent_dim >= 1.")
            latent_dims = [dims[m] for m in order]
        else:
            latent_dims = [int(dims)] * len(order)
        total = sum(latent_dims) + self.shared_dim
        if total > _MAX_LATENTS:
            raise ValueError(
                f"latent_dim={self.latent_dim!r} and shared_dim={self.shared_dim} ask for "
                f"{total:,} latents over {len(order)} modalities, more than {_MAX_LATENTS:,}: "
                "the causal prior grows with the square of that number (a "
                f"{total:,} x {total:,} adjacency). Use a few latents per modality."
            )
        return latent_dims

    def _image_shapes(self, columns, modality_of):
        if not self.image_shape:
            return None
        unknown = sorted(str(m) for m in self.image_shape if str(m) not in self.modalities_)
        if unknown:
            raise ValueError(
                f"image_shape names modalities {unknown} that the data do not have; the "
                f"modalities are {self.modalities_}."
            )
        shapes = {}
        for m, shape in self.image_shape.items():
            # a string iterates into digits ("666" is not (6, 6, 6)), a float truncates
            valid = (
                not isinstance(shape, (str, bytes))
                and np.iterable(shape)
                and all(isinstance(v, Integral) and not isinstance(v, bool) for v in shape)
            )
            shape = [int(v) for v in shape] if valid else []
            if len(shape) != 3 or min(shape) < 1:
                raise ValueError(
                    f"image_shape[{m!r}] must be (height, width, channels) of positive "
                    f"integers, got {self.image_shape[m]!r}."
                )
            shapes[str(m)] = shape
        out = []
        for cols, k in zip(columns, modality_of):
            shape = shapes.get(self.modalities_[k])
            if shape is not None and len(cols) != int(np.prod(shape)):
                raise ValueError(
                    f"image_shape[{self.modalities_[k]!r}] = {tuple(shape)} needs "
                    f"{int(np.prod(shape))} columns per measurement, got {len(cols)}; pass "
                    "the pixels as images.reshape(n_samples, -1)."
                )
            out.append(shape)
        return out

    def _allowed(self, order, latent_dims, constrain_order, modality_order=None):
        """Allowed edges among all latents (content then shared), rows parents.

        Everything is allowed but self-loops and edges into a shared latent
        from a content latent (``s`` is a source, as in PersonaX), unless
        ``constrain_order`` forbids content edges from a later to an earlier
        modality (in ``modality_order``, by default ``order``) or ``prior_mask``
        forbids (0) or favours (> 1) edges.
        """
        size = sum(latent_dims)
        total = size + self.shared_dim
        owner = np.repeat(np.arange(len(order)), latent_dims)
        allowed = 1.0 - np.eye(total)
        allowed[:size, size:] = 0.0  # no z -> s: s is a source
        if constrain_order:
            rank = {m: r for r, m in enumerate(order if modality_order is None else modality_order)}
            position = np.array([rank[order[k]] for k in owner])
            later_to_earlier = position[:, None] > position[None, :]
            allowed[:size, :size][later_to_earlier] = 0.0
        if self.prior_mask is None:
            return allowed
        return allowed * self._prior(order, size, total, owner)

    def _prior(self, order, size, total, owner):
        """``prior_mask`` over all latents (content then shared)."""
        names = self._latent_names()
        prior = self.prior_mask
        if isinstance(prior, pd.DataFrame):
            labels = [str(c) for c in prior.columns]
            index = [str(i) for i in prior.index]
            if sorted(labels) != sorted(index):
                raise ValueError("prior_mask must have the same labels as index and columns.")
            frame = prior.copy()
            frame.index, frame.columns = index, labels
            for candidate in (order, self._z_names, names):
                if set(labels) == set(candidate):
                    prior = frame.loc[candidate, candidate].to_numpy(dtype=float)
                    break
            else:
                raise ValueError(
                    f"prior_mask labels {labels} are neither the modalities {order} nor the "
                    f"latents {names}."
                )
        prior = _finite_prior(prior)
        if prior.ndim != 2 or prior.shape[0] != prior.shape[1] or np.any(prior < 0):
            raise ValueError("prior_mask must be a square, non-negative matrix.")
        if prior.shape[0] == len(order):
            expanded = prior[owner][:, owner]
            same = owner[:, None] == owner[None, :]
            prior = np.where(same, 1.0, expanded)
        if prior.shape[0] == size:
            full = np.ones((total, total))
            full[:size, :size] = prior
            prior = full
        elif prior.shape[0] != total:
            raise ValueError(
                f"prior_mask has shape {prior.shape}; expected ({len(order)}, {len(order)}) over "
                f"modalities {order}, ({size}, {size}) over content latents or "
                f"({total}, {total}) over all latents {names}."
            )
        return prior

    # -- the choice among the fitted runs: restarts, order, DAG, refit -----------------
    def _choose(self, runs, Xs, split_seed, refit_seed):
        """Keep a restart per order, then an order, then refit under the searched DAG."""
        best, self.restart_dependence_ = {}, []
        for label, found in runs.items():
            best[label], dependence = self._select_restart(found, Xs)
            if dependence is not None:
                self.restart_dependence_.append(dependence)
        self.order_scores_ = {order_name(label): -run.loss for label, run in best.items()}
        label, aligned = self._select_structure(best, Xs)
        kept = best[label]
        self.shared_warmup_ = kept.warmup
        self.dag_search_ = None
        return self._refine(kept, aligned, Xs, split_seed, refit_seed)

    def _select_restart(self, runs, Xs):
        """One of an order's restarts, and the noise dependence of each (None by ELBO).

        The most independent inferred noises on the validation split (the
        model's own identifiability assumption: the ELBO is nearly flat along a
        rotation of a block, which leaves the noises dependent), or the best
        validation ELBO.
        """
        if self.restart_selection == "elbo" or len(runs) == 1:
            return min(runs, key=lambda run: run.loss), None
        dependence = [
            noise_dependence(run.net.module_, validation_rows(run.net, Xs), self.n_threads)
            for run in runs
        ]
        return runs[int(np.argmin(dependence))], dependence

    def _select_structure(self, best, Xs):
        """The order of the modalities to keep, and its aligned validation latents.

        With ``refine_graph``, every order is scored by the independence of its
        regression residuals on every candidate's aligned latents
        (:func:`residual_dependence`), and the kept net's validation latents are
        aligned for the DAG search (else None). Without, the order whose own
        SCM infers the most independent noises is kept. The orders' ELBOs
        (``order_scores_``) hardly differ: a reversed mechanism fits almost as well.
        """
        refine = self.refine_graph
        n_rows = len(validation_index(next(iter(best.values())).net, Xs))
        if refine and n_rows < MIN_GRAPH_ROWS:
            warnings.warn(
                f"refine_graph needs at least {MIN_GRAPH_ROWS} validation rows for its "
                f"independence tests, got {n_rows}; the first fit's graph is kept. Pass more "
                "samples or a larger validation_fraction.",
                UserWarning,
                stacklevel=5,
            )
            refine = False
        shared = self._shared_columns
        if len(best) == 1:
            self.order_dependence_ = {}
        elif refine:
            self.order_dependence_ = residual_dependence(
                {label: run.net for label, run in best.items()}, Xs, self._content_blocks,
                shared, self.n_threads,
            )
        else:
            self.order_dependence_ = {
                order_name(label): noise_dependence(
                    run.net.module_, validation_rows(run.net, Xs), self.n_threads
                )
                for label, run in best.items()
            }
        self.order_tied_ = False
        if len(best) == 1:
            label = next(iter(best))
        else:
            label, self.order_tied_ = choose_order(
                {k: self.order_dependence_[order_name(k)] for k in best},
                {k: run.loss for k, run in best.items()},
            )
        self.modality_order_ = None if label is None else list(label)
        if not refine:
            return label, None
        blocks = [self._content_blocks[m] for m in self.modalities_]
        return label, aligned_validation_latents(best[label].net, Xs, blocks, shared,
                                                 self.n_threads)

    def _refine(self, kept, aligned, Xs, split_seed, seed):
        """The DAG searched on the ``aligned`` validation latents, and the net refitted under it.

        The order of all latents comes from residual independence and each
        latent's parents from the lowest BIC, within the edges the kept order
        (and ``prior_mask``) allow; the net is then trained on, warm-started
        (:func:`warm_start`). Without ``aligned`` (no ``refine_graph``, or too
        few validation rows), ``kept`` is returned as it is.
        """
        if aligned is None:
            return kept
        latent, weight, bias = aligned
        allowed = kept.module_args["allowed"]
        order, dag = search_dag(latent, allowed)
        names = self._latent_names()
        # plain lists, so that skops can store them
        self.dag_search_ = {
            "order": [names[i] for i in order],
            "edges": [(names[i], names[j]) for i, j in np.argwhere(dag)],
        }
        refit_args = {**kept.module_args, "allowed": allowed * dag}
        with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
            torch.manual_seed(seed)
            net = self._make_net(Xs.shape[0], split_seed, refit_args).initialize()
            warm_start(net.module_, kept.net.module_, weight, bias, latent, dag)
            net.partial_fit(Xs, None)
        return _Run(best_loss(net), net, refit_args, kept.warmup)

    # -- the learned graph -------------------------------------------------------------
    @property
    def adjacency_(self):
        """Learned weighted adjacency among all latents (DataFrame, rows parents).

        Entries are effects between standardised latents (in standard
        deviations), so they do not change when a latent is rescaled.
        """
        check_is_fitted(self, "net_")
        with torch.no_grad():
            weights = self.net_.module_.prior.adjacency().numpy().astype(np.float64)
        names = self._latent_names()
        return pd.DataFrame(weights, index=names, columns=names)

    @property
    def graph_(self):
        """The learned DAG as a 0/1 DataFrame (rows parents).

        Edges with ``abs(adjacency_) > edge_threshold``, added strongest first
        and skipped when they would close a cycle (the acyclicity penalty
        makes such leftovers rare and weak).
        """
        weights = self.adjacency_
        return pd.DataFrame(
            greedy_dag(weights.abs().to_numpy(), self.edge_threshold),
            index=weights.index,
            columns=weights.columns,
        )

    @property
    def causal_order_(self):
        """A topological order of :attr:`graph_` (list of latent names, causes first)."""
        graph = self.graph_
        return [graph.index[i] for i in topological_order(graph.to_numpy())]


def _finite_prior(prior):
    """``prior_mask`` as a float array; NaN or infinite entries are refused (not trained on)."""
    try:
        prior = np.asarray(prior, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"prior_mask must hold numbers (0: edge forbidden): {exc}") from exc
    if not np.all(np.isfinite(prior)):
        bad = np.argwhere(~np.isfinite(prior))[:5].tolist()
        raise ValueError(
            f"prior_mask has NaN or infinite entries (at {bad}); use 0 for a forbidden edge "
            "and a positive weight for an allowed one."
        )
    return prior


def _split_measurements(blocks):
    """Group blocks named ``modality.measurement`` by modality."""
    modalities = {}
    for key, idx in blocks.items():
        modality, _, measurement = str(key).partition(".")
        modalities.setdefault(modality, []).append((measurement or modality, idx))
    return modalities
