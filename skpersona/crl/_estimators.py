"""scikit-learn estimators that train the latent models with skorch (composition)."""

import json
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from skorch.history import History

from ..utils import modality_columns
from ..utils._torch import torch_threads as _torch_threads
from ._modules import MultimodalVAE

__all__ = ["BetaVAE", "MultimodalCRL"]

_SINGLE = "x"


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


class LatentNet(NeuralNet):
    """skorch net whose loss is ``a_recon * MSE + a_ind * KL + a_sp * L1(adjacency)``.

    The module returns the three terms; ``get_loss`` weighs them. Used by
    :class:`MultimodalCRL` and :class:`BetaVAE` as ``net_``.
    """

    def __init__(self, *args, a_recon=1.0, a_ind=1.0, a_sp=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.a_recon = a_recon
        self.a_ind = a_ind
        self.a_sp = a_sp

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return (
            self.a_recon * y_pred["recon"]
            + self.a_ind * y_pred["kl"]
            + self.a_sp * y_pred["sparsity"]
        )


def _seed(random_state):
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _LatentModel(TransformerMixin, BaseEstimator):
    """Shared fitting, transform and scoring of the skorch-trained latent models."""

    _parameter_constraints = {
        "a_recon": [Interval(Real, 0, None, closed="neither")],
        "a_ind": [Interval(Real, 0, None, closed="left")],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "n_hidden_layers": [Interval(Integral, 0, None, closed="left")],
        "n_flow_layers": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- to be provided by subclasses -------------------------------------------------
    def _layout(self, X, names):
        """Return (measurement_columns, measurement_modality, latent_dims, n_shared, allowed)."""
        raise NotImplementedError

    def _latent_names(self):
        raise NotImplementedError

    def _a_sp(self):
        return 0.0

    # -- fitting ------------------------------------------------------------------------
    def _standardise(self, X):
        return ((X - self.mean_) / self.scale_).astype(np.float32)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model; ``y`` is ignored (true latents may travel as ``y`` to a scorer).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations; a DataFrame's column names locate the modalities.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        names = getattr(self, "feature_names_in_", None)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        columns, modality_of, latent_dims, n_shared, allowed = self._layout(X, names)
        rng = check_random_state(self.random_state)
        split_seed = _seed(rng)
        self._module_args = dict(
            measurement_columns=[list(map(int, c)) for c in columns],
            measurement_modality=list(map(int, modality_of)),
            latent_dims=list(map(int, latent_dims)),
            n_shared=int(n_shared),
            allowed=None if allowed is None else np.asarray(allowed, dtype=np.float64),
            hidden=int(self.hidden_size),
            n_layers=int(self.n_hidden_layers),
            n_flow_layers=int(self.n_flow_layers),
        )
        Xs = self._standardise(X)
        self._n_fit_samples = X.shape[0]
        best = None
        for _ in range(self.n_init):
            # Seed torch inside a fork, so the caller's global RNG state is untouched.
            with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
                torch.manual_seed(_seed(rng))
                net = self._make_net(X.shape[0], split_seed)  # same split: comparable losses
                net.fit(Xs, None)
            key = "valid_loss" if "valid_loss" in net.history[-1] else "train_loss"
            loss = min(net.history[:, key])
            if best is None or loss < best[0]:
                best = (loss, net)
        self.selection_loss_, self.net_ = best
        self.net_.module_.eval()
        self.n_epochs_ = len(self.net_.history)
        return self

    def _make_net(self, n_samples, seed):
        use_valid = self.validation_fraction is not None and n_samples >= 10
        callbacks = []
        if use_valid and self.patience is not None:
            callbacks.append(
                ("early_stopping", EarlyStopping(patience=self.patience, load_best=True, sink=_noop))
            )
        return LatentNet(
            MultimodalVAE(**self._module_args),
            criterion=torch.nn.MSELoss,  # unused: get_loss combines the module's terms
            optimizer=torch.optim.Adam,
            lr=self.lr,
            batch_size=min(self.batch_size, n_samples),
            max_epochs=self.max_epochs,
            train_split=(
                ValidSplit(self.validation_fraction, random_state=seed) if use_valid else None
            ),
            callbacks=callbacks,
            iterator_train__shuffle=True,
            device="cpu",
            verbose=self.verbose,
            a_recon=self.a_recon,
            a_ind=self.a_ind,
            a_sp=self._a_sp(),
        )

    # -- persistence: plain arrays, so that skops can store the model ------------------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never alter the live object
        net = state.pop("net_", None)
        if net is not None:
            state["_net_weights"] = {
                name: value.detach().cpu().numpy().copy()
                for name, value in net.module_.state_dict().items()
            }
            state["_net_history"] = json.dumps(net.history.to_list(), default=float)
        return state

    def __setstate__(self, state):
        weights = state.pop("_net_weights", None)
        history = state.pop("_net_history", None)
        super().__setstate__(state)
        if weights is not None:
            torch_state = torch.random.get_rng_state()
            net = self._make_net(self._n_fit_samples, 0).initialize()  # weights are overwritten just below
            torch.random.set_rng_state(torch_state)
            net.module_.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
            net.module_.eval()
            net.history = History(json.loads(history))
            self.net_ = net

    # -- use ----------------------------------------------------------------------------
    def _tensor(self, X):
        check_is_fitted(self, "net_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return torch.as_tensor(self._standardise(X))

    def transform(self, X):
        """Return the posterior mean of the latents.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        latents : ndarray of shape (n_samples, n_latents)
            Named by :meth:`get_feature_names_out`.
        """
        Xt = self._tensor(X)
        module = self.net_.module_
        module.eval()
        with torch.no_grad(), _torch_threads(self.n_threads):
            return module.embed(Xt).numpy().astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """Names of the latents, in the order of :meth:`transform`'s columns.

        Parameters
        ----------
        input_features : array-like of str or None
            Ignored (the latents' names do not depend on the inputs' names).

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "net_")
        return np.asarray(self._latent_names(), dtype=object)

    def loss_terms(self, X):
        """Held-out loss terms: reconstruction MSE, KL and the adjacency's L1.

        Monte Carlo terms use a fixed seed, so the result is deterministic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        terms : dict of str -> float
            ``"recon"``, ``"kl"``, ``"sparsity"`` and the weighted ``"loss"``.
        """
        Xt = self._tensor(X)
        module = self.net_.module_
        module.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad(), _torch_threads(self.n_threads):
            torch.manual_seed(0)
            out = module(Xt)
            loss = self.net_.get_loss(out, None)
        terms = {name: float(value) for name, value in out.items()}
        terms["loss"] = float(loss)
        return terms

    def score(self, X, y=None):
        """Negative loss on ``X`` (greater is better); ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out observations.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-(a_recon * MSE + a_ind * KL + a_sp * L1)``.
        """
        return -self.loss_terms(X)["loss"]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        return tags


def _noop(*args, **kwargs):
    return None


def _split_measurements(blocks):
    """Group blocks named ``modality.measurement`` by modality."""
    modalities = {}
    for key, idx in blocks.items():
        modality, _, measurement = str(key).partition(".")
        modalities.setdefault(modality, []).append((measurement or modality, idx))
    return modalities


class MultimodalCRL(_LatentModel):
    """Multimodal causal representation learning (PersonaX Level II), trained by skorch.

    One block of content latents ``z<modality>_<i>`` per modality plus shared
    latents ``s_<i>``. The content latents follow a learnable structural causal
    model ``z_i = mu_i(parents(z_i), s) + sigma_i(s) * e_i`` with isotropic
    Gaussian noise ``e`` (a triangular normalizing flow), where the parent term
    is ``sum_j A[j, i] * f_ji(z_j)``: every adjacency entry multiplies its
    parent's input, so it is learned through the mechanisms and shrinks to
    zero under the L1 penalty when the data do not support the edge. Acyclicity
    is built in: latents follow a fixed causal order (``causal_order`` of the
    modalities, then latent index), and ``A`` is strictly upper triangular in
    that order. Every measurement has its own encoder and decoder; encoders
    give Gaussians pooled per modality as a product of experts (each
    measurement's learned noise sets its weight), and a conditional flow of
    affine coupling layers with a permutation between layers refines the
    posterior (``n_flow_layers``). Loss: ``a_recon * MSE + a_ind * KL(q(z, s | x) || p(z, s)) +
    a_sp * L1(A)``. Epochs are chosen by early stopping on an internal
    validation split (skorch ``ValidSplit``), never on the data scored.

    Parameters
    ----------
    latent_dim : int or dict of str -> int, default=2
        Content latents per modality (one int for all).
    shared_dim : int, default=1
        Shared latents ``s``.
    modalities : dict of str -> (list of int, slice or str prefix) or None, default=None
        Explicit column blocks, see :func:`skpersona.utils.modality_columns`.
        By default the modalities come from the column names' prefixes
        (``face__...``, ``text__...``). A block (or prefix) named
        ``modality.measurement`` (e.g. ``text.gpt__...``, ``text.llama__...``) is
        one measurement of ``modality``: measurements of a modality share its
        content latents. Without prefixed names all columns form one
        modality named ``x``.
    causal_order : list of str or None, default=None
        Order of the modalities in the causal order (causes first); by
        default their order of appearance.
    prior_mask : DataFrame, array-like or None, default=None
        Prior on the edges. A square matrix over modalities (rows parents,
        columns children, e.g. from ``DependencyScreen.to_prior_mask``) or over
        content latents (``z<m>_<i>`` names). 0 forbids an edge, a positive
        value allows it and divides its L1 penalty (above 1 favours the edge).
        A modality-level mask's diagonal is ignored: edges within a modality
        stay allowed. Edges against the causal order are always forbidden.
    a_recon, a_ind, a_sp : float, default=1.0, 0.01, 0.0005
        Weights of the reconstruction MSE (mean over entries, averaged over
        measurements), the KL term (nats per sample, summed over latents) and
        the L1 penalty on the adjacency.
    edge_threshold : float, default=0.1
        Absolute adjacency weight above which ``graph_`` keeps an edge.
    hidden_size : int, default=64
        Width of encoders, decoders and flow networks.
    n_hidden_layers : int, default=2
        Hidden layers of encoders and decoders.
    n_flow_layers : int, default=0
        Affine coupling layers of the conditional posterior flow, with a fixed
        permutation between consecutive layers (0: Gaussian posterior). The
        flow gives a richer posterior but weakens the mean-field pressure that
        aligns learned with true latents: on ``make_multimodal_causal`` two
        layers lowered held-out MCC by about 0.03 (``benchmarks/bench_crl.py``),
        hence the default.
    lr : float, default=3e-3
        Adam learning rate.
    batch_size : int, default=128
        Minibatch size.
    max_epochs : int, default=200
        Most epochs.
    patience : int or None, default=20
        Early-stopping patience on the validation loss (the best epoch's
        weights are kept); None trains ``max_epochs``.
    validation_fraction : float or None, default=0.2
        Share of the training data held out for early stopping; None uses
        no validation split.
    n_init : int, default=1
        Trainings from different initialisations; the one with the lowest
        validation loss (training loss without a validation split) is kept.
        Guards against a poor local optimum at ``n_init`` times the cost.
    n_threads : int or None, default=1
        torch intra-op threads while fitting and transforming (restored
        afterwards); small networks run fastest on one. None keeps torch's
        setting.
    random_state : int, RandomState instance or None, default=None
        Seeds torch, the split and shuffling; fits on the CPU are reproducible.
    verbose : int, default=0
        skorch's per-epoch table when positive.

    Attributes
    ----------
    net_ : LatentNet
        The fitted skorch net (``net_.history`` holds the losses).
    modalities_ : list of str
        Modalities in causal order.
    measurements_ : dict of str -> list of str
        Measurements of each modality.
    adjacency_ : DataFrame
        Learned weighted adjacency among content latents (rows parents).
    graph_ : DataFrame
        ``abs(adjacency_) > edge_threshold`` as 0/1.
    n_epochs_ : int
        Epochs trained (by the kept initialisation).
    selection_loss_ : float
        Best validation loss of the kept initialisation (training loss
        without a validation split).
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names (when X is a DataFrame with string names).

    See Also
    --------
    BetaVAE : the beta-VAE baseline with the same interface.
    mean_correlation_coefficient : identifiability against known latents.

    Notes
    -----
    What the structure identifies. A modality's content block feeds only that
    modality's decoders, so blocks are told apart from each other and from
    ``s``; an edge between modalities cannot be absorbed into the latents (a
    decoder never sees another modality's block), so cross-modal edges are
    learned from the data. Inside a block, a latent later in the causal order
    can be re-expressed as a function of earlier ones without changing the
    likelihood; there the fit leans on the factorised (mean-field) posterior,
    and within-modality edges and the matching of individual latents are less
    reliable (see ``benchmarks/RESULTS.md``, section ``crl``). Because the
    causal order is fixed, a modality-level prior can only forbid edges along
    it; choose ``causal_order`` so that the allowed directions follow it.

    Examples
    --------
    >>> from skpersona.crl import MultimodalCRL
    >>> from skpersona.datasets import make_multimodal_causal
    >>> data = make_multimodal_causal(n_samples=200, random_state=0)
    >>> crl = MultimodalCRL(max_epochs=3, random_state=0).fit(data.data)
    >>> crl.set_output(transform="pandas").transform(data.data).columns.tolist()
    ['z1_1', 'z1_2', 'z2_1', 'z2_2', 's_1']
    >>> crl.adjacency_.shape
    (4, 4)
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
        a_ind=0.01,
        a_sp=0.0005,
        edge_threshold=0.1,
        hidden_size=64,
        n_hidden_layers=2,
        n_flow_layers=0,
        lr=3e-3,
        batch_size=128,
        max_epochs=200,
        patience=20,
        validation_fraction=0.2,
        n_init=1,
        n_threads=1,
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
        self.n_flow_layers = n_flow_layers
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_init = n_init
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _a_sp(self):
        return self.a_sp

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
        self.modalities_ = order
        self.measurements_ = {m: [name for name, _ in grouped[m]] for m in order}
        columns, modality_of = [], []
        for k, m in enumerate(order):
            for _, idx in grouped[m]:
                columns.append(np.asarray(idx).tolist())
                modality_of.append(k)
        self.latent_dims_ = dict(zip(order, latent_dims))
        self._z_names = [f"z{m}_{i + 1}" for m, d in zip(order, latent_dims) for i in range(d)]
        allowed = self._allowed(order, latent_dims)
        return columns, modality_of, latent_dims, self.shared_dim, allowed

    def _allowed(self, order, latent_dims):
        size = sum(latent_dims)
        owner = np.repeat(np.arange(len(order)), latent_dims)
        allowed = np.triu(np.ones((size, size)), k=1)
        if self.prior_mask is None:
            return allowed
        prior = self.prior_mask
        if isinstance(prior, pd.DataFrame):
            labels = [str(c) for c in prior.columns]
            index = [str(i) for i in prior.index]
            if sorted(labels) != sorted(index):
                raise ValueError("prior_mask must have the same labels as index and columns.")
            if set(labels) == set(order):
                frame = prior.copy()
                frame.index, frame.columns = index, labels
                prior = frame.loc[order, order].to_numpy(dtype=float)
            elif set(labels) == set(self._z_names):
                frame = prior.copy()
                frame.index, frame.columns = index, labels
                prior = frame.loc[self._z_names, self._z_names].to_numpy(dtype=float)
            else:
                raise ValueError(
                    f"prior_mask labels {labels} are neither the modalities {order} nor the "
                    f"latents {self._z_names}."
                )
        prior = _finite_prior(prior)
        if prior.ndim != 2 or prior.shape[0] != prior.shape[1] or np.any(prior < 0):
            raise ValueError("prior_mask must be a square, non-negative matrix.")
        if prior.shape[0] == len(order):
            expanded = prior[owner][:, owner]
            same = owner[:, None] == owner[None, :]
            prior = np.where(same, 1.0, expanded)
        elif prior.shape[0] != size:
            raise ValueError(
                f"prior_mask has shape {prior.shape}; expected ({len(order)}, {len(order)}) over "
                f"modalities {order} or ({size}, {size}) over latents."
            )
        return allowed * prior

    def _latent_names(self):
        return self._z_names + [f"s_{i + 1}" for i in range(self.shared_dim)]

    def fit(self, X, y=None):
        """Fit the model; ``y`` is ignored (true latents may travel as ``y`` to a scorer).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations; a DataFrame's column names locate modalities and
            measurements.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return super().fit(X, y)

    @property
    def adjacency_(self):
        """Learned weighted adjacency among content latents (DataFrame, rows parents)."""
        check_is_fitted(self, "net_")
        with torch.no_grad():
            weights = self.net_.module_.prior.adjacency().numpy().astype(np.float64)
        return pd.DataFrame(weights, index=self._z_names, columns=self._z_names)

    @property
    def graph_(self):
        """``abs(adjacency_) > edge_threshold`` as a 0/1 DataFrame."""
        return (self.adjacency_.abs() > self.edge_threshold).astype(int)


class BetaVAE(_LatentModel):
    """beta-VAE baseline: one encoder and decoder over all columns, isotropic prior.

    Same interface as :class:`MultimodalCRL` (``fit``, ``transform`` with
    named latents ``z_<i>``, ``score`` as the negative held-out loss,
    skorch training with early stopping on a validation split), but no
    modality structure, no shared latent and no causal model:
    ``loss = a_recon * MSE + beta * KL(q(z | x) || N(0, I))``.

    Parameters
    ----------
    n_components : int, default=4
        Number of latents.
    beta : float, default=0.01
        Weight of the KL term (``a_ind`` of :class:`MultimodalCRL`, with the
        reconstruction measured as a per-entry MSE).
    a_recon : float, default=1.0
        Weight of the reconstruction MSE.
    hidden_size : int, default=64
        Width of encoder and decoder.
    n_hidden_layers : int, default=2
        Hidden layers of encoder and decoder.
    n_flow_layers : int, default=0
        Affine coupling layers of an optional posterior flow.
    lr : float, default=3e-3
        Adam learning rate.
    batch_size : int, default=128
        Minibatch size.
    max_epochs : int, default=200
        Most epochs.
    patience : int or None, default=20
        Early-stopping patience on the validation loss; None trains ``max_epochs``.
    validation_fraction : float or None, default=0.2
        Share of the training data held out for early stopping.
    n_init : int, default=1
        Trainings from different initialisations; the one with the lowest
        validation loss (training loss without a validation split) is kept.
        Guards against a poor local optimum at ``n_init`` times the cost.
    n_threads : int or None, default=1
        torch intra-op threads while fitting and transforming (restored
        afterwards); small networks run fastest on one. None keeps torch's
        setting.
    random_state : int, RandomState instance or None, default=None
        Seeds torch, the split and shuffling.
    verbose : int, default=0
        skorch's per-epoch table when positive.

    Attributes
    ----------
    net_ : LatentNet
        The fitted skorch net.
    n_epochs_ : int
        Epochs trained (by the kept initialisation).
    selection_loss_ : float
        Best validation loss of the kept initialisation (training loss
        without a validation split).
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names (when X is a DataFrame with string names).

    See Also
    --------
    MultimodalCRL : the causal multimodal model.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.crl import BetaVAE
    >>> X = np.random.RandomState(0).normal(size=(100, 6))
    >>> BetaVAE(n_components=2, max_epochs=2, random_state=0).fit_transform(X).shape
    (100, 2)
    """

    _parameter_constraints = {
        **_LatentModel._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
    }
    _parameter_constraints.pop("a_ind")

    def __init__(
        self,
        n_components=4,
        *,
        beta=0.01,
        a_recon=1.0,
        hidden_size=64,
        n_hidden_layers=2,
        n_flow_layers=0,
        lr=3e-3,
        batch_size=128,
        max_epochs=200,
        patience=20,
        validation_fraction=0.2,
        n_init=1,
        n_threads=1,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.beta = beta
        self.a_recon = a_recon
        self.hidden_size = hidden_size
        self.n_hidden_layers = n_hidden_layers
        self.n_flow_layers = n_flow_layers
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_init = n_init
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    @property
    def a_ind(self):
        """Alias of ``beta`` used by the shared training code."""
        return self.beta

    def _layout(self, X, names):
        return [list(range(X.shape[1]))], [0], [self.n_components], 0, None

    def _latent_names(self):
        return [f"z_{i + 1}" for i in range(self.n_components)]
