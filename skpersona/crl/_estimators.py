"""scikit-learn estimators that train the latent models with skorch (composition)."""

import itertools
import json
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit
from skorch.history import History

from ..independence._kernel import hsic_gamma_test
from ..utils import modality_columns
from ..utils._torch import check_stored_weights
from ..utils._torch import torch_threads as _torch_threads
from ._modules import MultimodalVAE
from ._orient import align_blocks, order_dependence, resit_order, select_parents

__all__ = ["BetaVAE", "MultimodalCRL"]

_SINGLE = "x"
# Up to this many modalities (3! = 6 candidate orders), a missing causal_order
# is found by fitting every order and keeping the one whose inferred noises are
# the most independent on the validation split.
_MAX_ORDER_SEARCH = 3
# The graph search tests independence on the validation rows; below this many it is skipped.
_MIN_GRAPH_ROWS = 20
# Warm-up epochs of shared_warmup="auto" (the schedule tried beside no warm-up).
_AUTO_WARMUP = 15
# The orders of the modalities are compared on at most this many rows (HSIC is quadratic).
_MAX_ORDER_ROWS = 2000


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
    """skorch net trained on ``a_recon * NLL + a_ind * KL + a_sp * L1(A) + DAG penalty``.

    The module returns the terms; ``get_loss`` weighs them while training. The
    acyclicity term is an augmented Lagrangian ``alpha * h + rho / 2 * h**2``
    of NOTEARS' ``h(A)``, whose multipliers :class:`_AcyclicitySchedule` raises
    after every epoch. Outside training (the validation split, which early
    stopping and restarts read) the loss is the plain negative ELBO per sample,
    ``NLL + KL``, whatever the weights: held-out ELBO is what models and
    hyper-parameters are compared on. Used by :class:`MultimodalCRL` and
    :class:`BetaVAE` as ``net_``.
    """

    def __init__(self, *args, a_recon=1.0, a_ind=1.0, a_sp=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.a_recon = a_recon
        self.a_ind = a_ind
        self.a_sp = a_sp
        self.dag_alpha = 0.0
        self.dag_rho = 1.0

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not training:
            return y_pred["recon"] + y_pred["kl"]
        h = y_pred["acyclicity"]
        return (
            self.a_recon * y_pred["recon"]
            + self.a_ind * y_pred["kl"]
            + self.a_sp * y_pred["sparsity"]
            + self.dag_alpha * h
            + 0.5 * self.dag_rho * h * h
        )


class _AcyclicitySchedule(Callback):
    """Augmented-Lagrangian updates of the NOTEARS multipliers, once per epoch."""

    def on_epoch_end(self, net, **kwargs):
        prior = getattr(net.module_, "prior", None)
        if prior is None:
            return
        with torch.no_grad():
            h = float(prior.acyclicity())
        previous = getattr(self, "last_h_", np.inf)
        net.dag_alpha += net.dag_rho * h
        if h > 0.25 * previous:
            net.dag_rho = min(net.dag_rho * 2.0, 1e6)
        self.last_h_ = h
        net.history.record("acyclicity", h)


class _SharedWarmup(Callback):
    """Hide the content latents from the decoders for the first ``epochs`` epochs.

    The shared latents must then explain what the modalities have in common
    before a modality's own latents can: otherwise each modality tends to copy
    a strong shared factor into its own block (a local optimum in which the
    shared latent goes unused).
    """

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        net.module_.content_gate = 0.0 if len(net.history) <= self.epochs else 1.0
        net.history.record("content_gate", net.module_.content_gate)

    def on_train_end(self, net, **kwargs):
        net.module_.content_gate = 1.0


class _EarlyStoppingAfterWarmup(EarlyStopping):
    """skorch's early stopping that ignores the warm-up epochs (their loss is not comparable)."""

    def __init__(self, warmup=0, **kwargs):
        super().__init__(**kwargs)
        self.warmup = warmup

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.warmup:
            super().on_epoch_end(net, **kwargs)


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
        """Return (measurement_columns, measurement_modality, latent_dims, n_shared, candidates).

        ``candidates`` maps a label to an allowed adjacency (None: isotropic
        prior); every candidate is fitted and ``_select_structure`` keeps one.
        """
        raise NotImplementedError

    def _latent_names(self):
        raise NotImplementedError

    def _a_sp(self):
        return 0.0

    def _image_shapes(self, columns, modality_of):
        """Per measurement, ``(height, width, channels)`` of an image or None (an MLP)."""
        return None

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
        columns, modality_of, latent_dims, n_shared, candidates = self._layout(X, names)
        rng = check_random_state(self.random_state)
        split_seed = _seed(rng)
        # One set of initialisations shared by all candidate structures: their
        # validation losses then differ by the structure, not by the luck of the draw.
        init_seeds = [_seed(rng) for _ in range(self.n_init)]
        refit_seed = _seed(rng)
        Xs = self._standardise(X)
        self._n_fit_samples = X.shape[0]
        image_shapes = self._image_shapes(columns, modality_of)
        runs = {}  # per candidate structure: [(validation loss, net, module arguments)]
        for label, allowed in candidates.items():
            args = dict(
                measurement_columns=[list(map(int, c)) for c in columns],
                measurement_modality=list(map(int, modality_of)),
                latent_dims=list(map(int, latent_dims)),
                n_shared=int(n_shared),
                allowed=None if allowed is None else np.asarray(allowed, dtype=np.float64),
                hidden=int(self.hidden_size),
                n_layers=int(self.n_hidden_layers),
                n_flow_layers=int(self.n_flow_layers),
                image_shapes=image_shapes,
            )
            for seed in init_seeds:
                schedules = []
                for warmup in self._warmup_schedules(args):
                    # Seed torch inside a fork, so the caller's global RNG state is untouched.
                    with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
                        torch.manual_seed(seed)
                        net = self._make_net(X.shape[0], split_seed, args, warmup)  # same split
                        net.fit(Xs, None)
                    key = "valid_loss" if "valid_loss" in net.history[-1] else "train_loss"
                    schedules.append((float(min(net.history[:, key])), net, args))
                # of one initialisation's schedules, the best validation ELBO: the schedules
                # escape different local optima of the same likelihood
                runs.setdefault(label, []).append(min(schedules, key=lambda run: run[0]))
        best = {label: self._select_restart(found, Xs) for label, found in runs.items()}
        label = self._select_structure(best, Xs)
        self.selection_loss_, self.net_, self._module_args = best[label]
        self._refine(label, Xs, split_seed, refit_seed)
        self.net_.module_.eval()
        self.n_epochs_ = len(self.net_.history)
        return self

    def _select_restart(self, runs, Xs):
        """Keep one of a structure's ``n_init`` runs: the best validation ELBO."""
        return min(runs, key=lambda run: run[0])

    def _select_structure(self, best, Xs):
        """Label of the candidate structure to keep: the best validation ELBO."""
        return min(best, key=lambda label: best[label][0])

    def _refine(self, label, Xs, split_seed, seed):
        """Optional last step on the kept net (``net_``); the base class keeps it as it is."""

    def _warmup_schedules(self, module_args):
        """Shared-latent warm-up lengths (epochs) tried by every fresh fit; none here."""
        return [0]

    def _build_module(self, module_args):
        """The torch module a net trains (one place, so a subclass can swap it)."""
        return MultimodalVAE(**module_args)

    def _make_net(self, n_samples, seed, module_args=None, warmup=0):
        use_valid = self.validation_fraction is not None and n_samples >= 10
        args = self._module_args if module_args is None else module_args
        callbacks = [("acyclicity", _AcyclicitySchedule())]
        if warmup:
            callbacks.append(("shared_warmup", _SharedWarmup(warmup)))
        if use_valid and self.patience is not None:
            callbacks.append(
                ("early_stopping", _EarlyStoppingAfterWarmup(
                    warmup, patience=self.patience, load_best=True, sink=_noop
                ))
            )
        return LatentNet(
            self._build_module(args),
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
            state["_net_dag"] = [float(net.dag_alpha), float(net.dag_rho)]
        return state

    def __setstate__(self, state):
        weights = state.pop("_net_weights", None)
        history = state.pop("_net_history", None)
        dag = state.pop("_net_dag", [0.0, 1.0])
        super().__setstate__(state)
        if weights is not None:
            check_stored_weights(lambda: self._build_module(self._module_args), weights,
                                 type(self).__name__)  # before allocating anything
            torch_state = torch.random.get_rng_state()
            net = self._make_net(self._n_fit_samples, 0).initialize()  # weights are overwritten just below
            torch.random.set_rng_state(torch_state)
            net.module_.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
            net.module_.eval()
            net.history = History(json.loads(history))
            net.dag_alpha, net.dag_rho = float(dag[0]), float(dag[1])
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
        """Held-out terms of the objective, per sample.

        Monte Carlo terms use a fixed seed, so the result is deterministic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        terms : dict of str -> float
            ``"recon"`` (Gaussian negative log-likelihood, summed over
            features), ``"kl"`` (summed over latents), ``"sparsity"`` (L1 of the
            adjacency), ``"acyclicity"`` (NOTEARS ``h``), ``"elbo"``
            (``-(recon + kl)``) and the weighted training ``"loss"``.
        """
        Xt = self._tensor(X)
        module = self.net_.module_
        module.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad(), _torch_threads(self.n_threads):
            torch.manual_seed(0)
            out = module(Xt)
            loss = self.net_.get_loss(out, None, training=True)
        terms = {name: float(value) for name, value in out.items()}
        terms["elbo"] = -(terms["recon"] + terms["kl"])
        terms["loss"] = float(loss)
        return terms

    def score(self, X, y=None):
        """Held-out evidence lower bound per sample (greater is better); ``y`` is ignored.

        The ELBO does not depend on the loss weights, so it compares models
        fitted with different hyper-parameters (e.g. in ``GridSearchCV``)
        without the true latents.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out observations.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-(NLL + KL)`` per sample, in nats.
        """
        return self.loss_terms(X)["elbo"]

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
    latents ``s_<i>``. All latents follow a learnable structural causal model
    written on *standardised* latents ``u = (z - mean) / std``:
    ``u_i = sum_j (L[j, i] * u_j + B[j, i] * tanh(C[j, i] * u_j)) + b_i + sigma_i * e_i``
    with ``e ~ N(0, I)`` (a normalizing flow from isotropic noise, exact
    density). The strength of edge ``j -> i``, ``A[j, i] = ||(L, B)[j, i]||``, is
    in standard deviations: rescaling a latent changes neither the loss nor
    ``A``, so the group-lasso penalty ``a_sp * sum(A)`` means the same for
    every latent. The structure is learned, not assumed: ``A`` is kept acyclic
    by NOTEARS' ``h(A) = tr(exp(A * A)) - d`` (an augmented Lagrangian whose
    multipliers grow after every epoch), and without ``causal_order`` every
    order of the modalities (up to three modalities) is fitted as a constraint
    on the edges between modalities. The graph is then learned on the fitted
    latents (``refine_graph``, default): each modality's block of latents is
    unmixed (the likelihood hardly changes along a mixing inside a block, the
    independence of the block's latents given the shared ones does), the order
    of the modalities is the one whose regression residuals are the most
    independent of their regressors (RESIT; ``order_dependence_``; the orders'
    ELBOs, ``order_scores_``, hardly differ), the order of all latents comes
    from the same criterion and each latent's parents from the lowest BIC, and
    the net is refitted, warm-started, under that DAG (``dag_search_``). Every
    measurement has its own encoder and decoder (Gaussian likelihood with a
    learned noise level per feature);
    encoders give Gaussians pooled per modality as a product of experts, and
    an optional conditional flow of affine coupling layers refines the
    posterior (``n_flow_layers``). The training loss is ``a_recon * NLL +
    a_ind * KL(q(z, s | x) || p(z, s)) + a_sp * sum(A) + DAG penalty``, per
    sample (sums over features and latents); with the default weights of 1
    the first two terms are the negative ELBO. Early stopping and the choice
    between a plain fit and one that starts with the shared latents alone
    (``shared_warmup``) compare the plain negative ELBO, restarts (``n_init``)
    the independence of the inferred noises (``restart_selection``), on an
    internal validation split (skorch ``ValidSplit``); the order search tests
    the independence of regression residuals on the fitted rows' latents; none
    sees the data scored or true latents.

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
        Order of the modalities (causes first), an optional constraint: edges
        from a later to an earlier modality are forbidden, and the latents'
        names follow this order. None learns the order: every order of up
        to three modalities is fitted and the one whose inferred noises are
        the most independent on the validation split is kept; with more
        modalities the acyclicity penalty alone orders them.
    prior_mask : DataFrame, array-like or None, default=None
        Optional prior on the edges. A square matrix over modalities (rows
        parents, columns children, e.g. from ``DependencyScreen.to_prior_mask``),
        over content latents (``z<m>_<i>`` names) or over all latents (with
        ``s_<i>``). 0 forbids an edge, a positive value allows it and divides
        its penalty (above 1 favours the edge). A modality-level mask's
        diagonal is ignored: edges within a modality stay allowed. Orders of
        the modalities whose allowed edges are a subset of another order's are
        not searched.
    a_recon, a_ind, a_sp : float, default=1.0, 1.0, 0.3
        Weights of the reconstruction negative log-likelihood (nats per
        sample, summed over features and measurements), the KL term (nats per
        sample, summed over latents) and the group-lasso penalty on the edge
        strengths. ``a_recon = a_ind = 1`` is the ELBO; pick ``a_sp`` (and
        the architecture) by held-out :meth:`score`, e.g. with ``GridSearchCV``
        - it needs no true latents.
    edge_threshold : float, default=0.1
        Edge strength (standard deviations) above which ``graph_`` keeps an edge.
    hidden_size : int, default=64
        Width of encoders, decoders and flow networks.
    n_hidden_layers : int, default=2
        Hidden layers of encoders and decoders (of the MLPs; see ``image_shape``).
    image_shape : dict or None, default=None
        Modalities whose columns are the pixels of an image, mapped to
        ``(height, width, channels)``; every measurement of such a modality
        then gets a convolutional encoder and decoder (two 3x3 convolutions
        each, ``hidden_size // 2`` and ``hidden_size`` channels) instead of an
        MLP. The columns must be the pixels in row-major order, as
        ``images.reshape(n_samples, -1)`` of an array of shape
        ``(n_samples, height, width, channels)`` gives them. Choose between
        the two by held-out :meth:`score`, as for any architecture. On
        ``make_causal_digits`` (10x10 images) convolutions gave the better
        validation ELBO on all seven seeds measured but not consistently
        better latents (held-out MCC 0.791 against 0.753 on five seeds, 0.741
        against 0.781 on two more; ``benchmarks/RESULTS.md``, section ``crl``).
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
    restart_selection : {"elbo", "independence"}, default="independence"
        How one of a structure's ``n_init`` runs is kept: the most
        independent inferred exogenous noises on the validation split
        (``"independence"``; HSIC summed over pairs) or the lowest validation
        loss (``"elbo"``). The default is the model's own identifiability
        assumption - independent exogenous noises - and costs a few HSIC
        statistics: the ELBO is nearly flat along a rotation of a block of
        latents, which leaves the noises dependent. With two restarts on
        ``make_multimodal_causal`` it kept MCC 0.963 (min 0.910) against 0.933
        (min 0.832) for the same restarts chosen by ELBO. No true latents are
        used either way; with ``n_init=1`` there is nothing to choose.
    refine_graph : bool, default=True
        After the fit, learn the DAG on the fitted latents and refit under it,
        in four steps, none of which sees true latents: (1) each modality's
        block of latents is unmixed by independent component analysis of its
        residuals given the shared latents - the SCM's assumption that a block's
        latents are independent given the shared ones (no edges inside a block),
        with non-Gaussian noise; the map is kept as a fixed linear layer between
        posterior and prior (``net_.module_.align_weight``); (2) the order of
        the modalities with the most independent regression residuals is kept,
        every order scored on every candidate's latents of the fitted rows (up
        to 2,000; RESIT, Peters et al. 2014; ``order_dependence_``) - on the
        validation split alone (20 %) the tests lacked the power to orient one
        benchmark seed; (3) on the validation split, the order of all latents by
        the same criterion, sink first, and each latent's parents among its
        predecessors by the lowest BIC (a penalty fixed in advance; the
        regressions use the SCM's own mechanisms ``L u + B tanh(u)`` on
        standardised latents, so a rescaled latent gives the same graph); (4)
        the net is trained on, warm-started, with the SCM restricted to that DAG
        (one more fit). On ``make_multimodal_causal(graph="cross")`` this found
        the true modality order where comparing the orders' own noise dependence
        did not, and recovered single latents inside blocks that the likelihood
        left mixed (``benchmarks/RESULTS.md``, section ``crl``). False keeps the
        first fit's SCM and orders the modalities by the noise dependence of
        each order's own SCM. Where latents of one modality cause each other
        (PersonaX's chain ``z1_1 -> z1_2``), step (1) returns the child's
        exogenous part rather than the child, which is all the observations
        identify (see Notes); False did not do better there
        (``make_causal_digits``, both without the shared warm-up: SHD 4.2
        against 3.4, true modality order on 1 of 5 seeds against 3).
    shared_warmup : "auto" or int, default="auto"
        A first phase of every fresh fit (each order, each restart; not the
        refit) during which the decoders see only the shared latents, so that
        what the modalities have in common is taken up by ``s`` first; capped
        at half of ``max_epochs``, ignored without shared latents, and early
        stopping starts counting after it. Without it each modality may copy
        a strong shared factor into its own block and leave ``s`` unused; with
        it ``s`` may absorb dependence between modalities that runs through
        their edges. Each is a local optimum of the same likelihood, so
        ``"auto"`` fits both - no warm-up and 15 epochs, from the same
        initialisation - and keeps the better validation ELBO (twice the
        fitting time; ``shared_warmup_`` says which). An int fixes the
        warm-up's length (0: none). Measured on the benchmarks (no true
        latents involved in the choice): on ``make_causal_digits`` (a shared
        background grey) 15 epochs raised the held-out MCC from 0.658 to 0.753
        and the validation ELBO from -19.7 to 17.2 nats per sample; on
        ``make_multimodal_causal`` with two measurements one seed fell from
        MCC 0.981 to 0.765 (validation ELBO 27.0 to 2.8).
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
        Modalities, in ``causal_order`` when given, else in order of appearance.
    modality_order_ : list of str or None
        The order of the modalities that was kept (given or searched); None
        when the acyclicity penalty alone ordered more than three modalities.
    order_scores_ : dict of str -> float
        Best validation ELBO per sample of each candidate order (``"1 > 2"``).
    order_dependence_ : dict of str -> float
        For each candidate order (when there are several), the dependence the
        order leaves; the least dependent is kept. With ``refine_graph``:
        ``-log`` p-values of HSIC tests of each latent's regression residual
        against the shared latents and earlier blocks, summed over latents
        and over the candidates' aligned latents of the fitted rows (up to
        2,000). Without: on the validation split, HSIC summed over pairs of
        the exogenous noises the order's own SCM infers.
    shared_warmup_ : int
        Warm-up epochs of the kept fit (0: none; see ``shared_warmup``).
    dag_search_ : dict or None
        With ``refine_graph``: ``"order"``, the order of all latents found by
        residual independence (causes first), and ``"edges"``, the DAG's
        ``(parent, child)`` pairs chosen by BIC, under which the net was
        refitted; ``graph_`` keeps those of its edges whose strength after
        the refit exceeds ``edge_threshold``. None otherwise.
    measurements_ : dict of str -> list of str
        Measurements of each modality.
    adjacency_ : DataFrame
        Learned edge strengths among all latents, content then shared (rows
        parents), in standard deviations.
    graph_ : DataFrame
        The learned DAG: edges above ``edge_threshold``, strongest first,
        skipping any that would close a cycle.
    causal_order_ : list of str
        A topological order of ``graph_`` (causes first).
    n_epochs_ : int
        Epochs trained (by the kept initialisation).
    selection_loss_ : float
        Best validation loss of the kept net - the refit under the searched
        DAG with ``refine_graph`` (training loss without a validation split).
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
    ``s`` (the information every modality shares). Single latents inside a
    block are identified when each has its own neighbours in the other
    modalities (structural sparsity, e.g. ``make_multimodal_causal(graph=
    "cross")``): then any mixing of a block's latents needs more edges, which
    the penalty rules out. Edges inside a block whose child has no neighbour of
    its own elsewhere (PersonaX's chain ``z1_1 -> z1_2``) can be traded for a
    re-expressed latent without changing the likelihood: the decoder of that
    modality absorbs any invertible map of ``(z1_1, z1_2)`` to ``(z1_1,
    h(z1_1, z1_2))``, so only the child's exogenous part (given its parents
    and ``s``) is determined, and the sparsest graph has no such edge. Those
    latents are therefore recovered less well, and such edges are not found.
    For scale: the true latents with every such child replaced by its
    exogenous part - the member of the equivalence class that the sparsest
    graph picks - score MCC 0.92 on ``make_causal_digits``; a fit may land
    nearer the true coordinates (0.94 on ``make_multimodal_causal(graph=
    "chain")``, where that reference is 0.93), but the data do not
    require it (``benchmarks/RESULTS.md``, section ``crl``).

    What the orientation needs. Residual independence orients an edge when the
    latents are the causal coordinates up to an affine map; it is not
    invariant to a monotone re-expression of each latent, nor to a mixing of
    the latents inside a block, both of which the observations allow just as
    well. On the true latents of the benchmark generators the true modality
    order wins on every seed, and after ``tanh(1.5 z)`` on 0 to 6 of 7
    (``benchmarks/bench_crl_orientation.py``). Where the decoders are
    strongly nonlinear in the latents (the digit images) the fitted blocks
    hold their latents but mixed (the colour: k-nearest-neighbour R^2 0.95
    from its block, best linear correlation 0.77;
    ``benchmarks/bench_crl_block_mixing.py``), the test sees each cause with
    error, and ``modality_order_`` and the cross-modal edges are unreliable
    (the true order on 3 of 5 seeds; 2 of 5 with three images per modality,
    1 of 5 with six). The graph search is not what fails there: allowed only
    the true DAG's edges, in the true order, the fit's MCC stayed at 0.750
    and its refit kept none of those edges (``bench_crl.py --oracle-graph``).
    Nor does the objective single out the true latents: fits started at
    them keep a higher MCC (0.857 against 0.735) but end with a validation
    ELBO only 2.6 nats per sample better on average, and worse on 2 of 5
    seeds (``bench_crl_truth_init.py --graph-search``): the mixing inside a
    block is a nearly flat direction of the ELBO, which restarts or longer
    training chosen by it will not undo. From such latents the same search
    finds the true order on 5 of 5 seeds and beats the empty graph on 3 of 5;
    handed the true latents, the graph stage alone does so on every seed, and
    after a nonlinear swirl inside each block on 1 of 5
    (``benchmarks/bench_crl_graph_stage.py``).
    On the synthetic benchmarks the fits come out close to affine and are
    oriented on every seed. ``order_dependence_`` tells the two apart:
    there the kept order scored 23 to 69 and the next best at least 2.7
    times as much; on the digits the kept order scored 205 to 563 and the
    next best at most 2.0 times as much (``benchmarks/RESULTS.md``, section
    ``crl``). How to choose the hyper-parameters without true latents:
    grid-search them on :meth:`score`, the held-out ELBO.

    Examples
    --------
    >>> from skpersona.crl import MultimodalCRL
    >>> from skpersona.datasets import make_multimodal_causal
    >>> data = make_multimodal_causal(n_samples=200, random_state=0)
    >>> crl = MultimodalCRL(max_epochs=3, random_state=0).fit(data.data)
    >>> crl.set_output(transform="pandas").transform(data.data).columns.tolist()
    ['z1_1', 'z1_2', 'z2_1', 'z2_2', 's_1']
    >>> crl.adjacency_.shape
    (5, 5)
    >>> sorted(crl.order_scores_)
    ['1 > 2', '2 > 1']
    >>> sorted(crl.dag_search_)
    ['edges', 'order']

    Image modalities get convolutional encoders and decoders:

    >>> from skpersona.datasets import make_causal_digits
    >>> digits = make_causal_digits(n_samples=100, image_size=6, random_state=0)
    >>> shapes = {"1": (6, 6, 3), "2": (6, 6, 3)}
    >>> crl = MultimodalCRL(image_shape=shapes, max_epochs=2, random_state=0)
    >>> crl.fit_transform(digits.data).shape
    (100, 5)
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
        self.random_state = random_state
        self.verbose = verbose

    def _a_sp(self):
        return self.a_sp

    def _warmup_schedules(self, module_args):
        if not module_args["n_shared"]:
            return [0]
        if self.shared_warmup == "auto":  # one schedule when max_epochs leaves no warm-up
            return list(dict.fromkeys([0, min(_AUTO_WARMUP, self.max_epochs // 2)]))
        return [min(self.shared_warmup, self.max_epochs // 2)]

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
            candidates = _drop_nested(
                {
                    perm: self._allowed(order, latent_dims, True, perm)
                    for perm in itertools.permutations(order)
                }
            )
        return columns, modality_of, latent_dims, self.shared_dim, candidates

    def _select_structure(self, best, Xs):
        """Keep the order of the modalities whose residuals are the most independent.

        With ``refine_graph`` (default), each candidate's latents of the
        fitted rows (up to 2,000) are first aligned (:func:`align_blocks`),
        and every order is scored on every candidate's aligned latents: each latent is
        regressed on the shared latents and the blocks before its own, and
        the ``-log`` p-values of HSIC tests of the residuals against the
        regressors are summed (regression with subsequent independence tests,
        RESIT, Peters et al. 2014); the order with the lowest total is kept.
        Scoring all orders on the same latents compares the orders, not the
        latents: a net fitted under one order leans its latents towards it.
        Without ``refine_graph``, the order whose own SCM infers the most
        independent exogenous noises is kept (HSIC summed over pairs of
        noises). The ELBOs of the orders (``order_scores_``) hardly differ:
        a reversed mechanism is fitted almost as well.
        """
        self.order_scores_ = {
            _order_name(label): -loss for label, (loss, _, _) in best.items()
        }
        self.order_dependence_ = {}
        self._aligned = {}
        refine = self.refine_graph
        n_rows = len(_validation_rows(next(iter(best.values()))[1], Xs))
        if refine and n_rows < _MIN_GRAPH_ROWS:
            warnings.warn(
                f"refine_graph needs at least {_MIN_GRAPH_ROWS} validation rows for its "
                f"independence tests, got {n_rows}; the first fit's graph is kept. Pass more "
                "samples or a larger validation_fraction.",
                UserWarning,
                stacklevel=4,
            )
            refine = False
        if refine:
            blocks = [self._content_blocks[m] for m in self.modalities_]
            rows = _order_rows(len(Xs))
            latents = {}
            for label, (_, net, _) in best.items():
                latent = _embed(net.module_, Xs, self.n_threads)
                # the order test gets all fitted rows (power), aligned on them
                weight, bias = align_blocks(latent[rows], blocks, self._shared_columns)
                latents[label] = latent[rows] @ weight.T + bias
                # the kept alignment and the DAG search use the held-out rows only
                valid = latent[_validation_index(net, Xs)]
                weight, bias = align_blocks(valid, blocks, self._shared_columns)
                self._aligned[label] = (valid @ weight.T + bias, weight, bias)
        if len(best) == 1:
            label = next(iter(best))
        elif refine:
            for label in best:
                blocks = [self._content_blocks[m] for m in label]
                self.order_dependence_[_order_name(label)] = sum(
                    order_dependence(latent, blocks, self._shared_columns)
                    for latent in latents.values()
                )
            label = min(best, key=lambda k: self.order_dependence_[_order_name(k)])
        else:
            for label, (_, net, _) in best.items():
                valid = _validation_rows(net, Xs)
                self.order_dependence_[_order_name(label)] = _noise_dependence(
                    net.module_, valid, self.n_threads
                )
            label = min(best, key=lambda k: self.order_dependence_[_order_name(k)])
        self.modality_order_ = None if label is None else list(label)
        return label

    def _refine(self, label, Xs, split_seed, seed):
        """Align the blocks, learn the DAG on the validation latents, refit under it.

        The DAG over all latents (content and shared) comes from the kept
        net's aligned validation latents: an order by residual independence
        (:func:`resit_order`) and, for each latent, the parents among its
        predecessors with the lowest BIC (:func:`select_parents`), both within
        the edges the kept order (and ``prior_mask``) allow. The net is then
        trained on, warm-started: encoders and decoders as they were, the
        alignment as a fixed linear map between posterior and prior, and the
        SCM restricted to the DAG's edges, started from the regressions.
        """
        warmup = dict(self.net_.callbacks).get("shared_warmup")  # the kept first fit's
        self.shared_warmup_ = warmup.epochs if warmup is not None else 0
        self.dag_search_ = None
        aligned, self._aligned = self._aligned, None  # validation latents: not kept
        if not aligned:  # refine_graph off, or too few validation rows
            return
        latent, weight, bias = aligned[label]
        args = self._module_args
        allowed = args["allowed"]
        order, _ = resit_order(latent, allowed)
        dag = select_parents(latent, order, allowed)
        names = self._latent_names()
        # plain lists, so that skops can store them
        self.dag_search_ = {
            "order": [names[i] for i in order],
            "edges": [(names[i], names[j]) for i, j in np.argwhere(dag)],
        }
        refit_args = {**args, "allowed": allowed * dag}
        with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
            torch.manual_seed(seed)
            net = self._make_net(Xs.shape[0], split_seed, refit_args).initialize()
            state = {
                name: value
                for name, value in self.net_.module_.state_dict().items()
                if not name.startswith("prior.")
            }
            net.module_.load_state_dict(state, strict=False)
            module = net.module_
            with torch.no_grad():
                module.align_weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
                module.align_bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
                _start_mechanisms(module.prior, latent, dag)
            net.partial_fit(Xs, None)
        key = "valid_loss" if "valid_loss" in net.history[-1] else "train_loss"
        self.selection_loss_ = float(min(net.history[:, key]))
        self.net_, self._module_args = net, refit_args

    def _select_restart(self, runs, Xs):
        """Keep the run with the best validation ELBO or the most independent noises."""
        if self.restart_selection == "elbo" or len(runs) == 1:
            return super()._select_restart(runs, Xs)
        dependence = [
            _noise_dependence(net.module_, _validation_rows(net, Xs), self.n_threads)
            for _, net, _ in runs
        ]
        self.restart_dependence_.append(dependence)
        return runs[int(np.argmin(dependence))]

    def _allowed(self, order, latent_dims, constrain_order, modality_order=None):
        """Allowed edges among all latents (content then shared), rows parents.

        Everything is allowed but self-loops, unless ``constrain_order``
        forbids content edges from a later to an earlier modality (in
        ``modality_order``, by default ``order``) or ``prior_mask`` forbids (0)
        or favours (> 1) edges.
        """
        size = sum(latent_dims)
        total = size + self.shared_dim
        owner = np.repeat(np.arange(len(order)), latent_dims)
        allowed = 1.0 - np.eye(total)
        if constrain_order:
            rank = {m: r for r, m in enumerate(order if modality_order is None else modality_order)}
            position = np.array([rank[order[k]] for k in owner])
            later_to_earlier = position[:, None] > position[None, :]
            allowed[:size, :size][later_to_earlier] = 0.0
        if self.prior_mask is None:
            return allowed
        names = self._z_names + [f"s_{i + 1}" for i in range(self.shared_dim)]
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
        self.restart_dependence_ = []  # per structure: noise dependence of each run, if chosen
        return super().fit(X, y)

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
            _greedy_dag(weights.abs().to_numpy(), self.edge_threshold),
            index=weights.index,
            columns=weights.columns,
        )

    @property
    def causal_order_(self):
        """A topological order of :attr:`graph_` (list of latent names, causes first)."""
        graph = self.graph_
        return [graph.index[i] for i in _topological_order(graph.to_numpy())]


def _order_name(label):
    return "learned" if label is None else " > ".join(label)


def _validation_index(net, Xs):
    """Indices of the net's internal validation split (all rows without one)."""
    _, valid = net.get_split_datasets(Xs, None)
    return np.arange(len(Xs)) if valid is None else np.asarray(valid.indices)


def _validation_rows(net, Xs):
    """The rows of the net's internal validation split (all rows without one)."""
    return Xs[_validation_index(net, Xs)]


def _order_rows(n_rows):
    """Rows on which the orders of the modalities are compared: all, or 2,000 drawn at random.

    HSIC costs memory quadratic in the rows, hence the cap.
    """
    if n_rows <= _MAX_ORDER_ROWS:
        return np.arange(n_rows)
    return np.sort(np.random.RandomState(0).choice(n_rows, _MAX_ORDER_ROWS, replace=False))


def _embed(module, X, n_threads):
    module.eval()
    with torch.no_grad(), _torch_threads(n_threads):
        return module.embed(torch.as_tensor(X)).numpy().astype(np.float64)


def _start_mechanisms(prior, latent, dag):
    """Set the SCM's mechanisms on ``dag``'s edges from least-squares fits on ``latent``.

    The fits are those of :func:`select_parents` (``L u_j + B tanh(u_j)`` on
    standardised latents), so the refit starts where the DAG search ended.
    """
    mean, std = latent.mean(axis=0), latent.std(axis=0)
    u = (latent - mean) / np.where(std > 1e-12, std, 1.0)
    prior.running_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    prior.running_var.copy_(torch.as_tensor(std**2, dtype=torch.float32))
    prior.bend_slope.fill_(1.0)
    for child in range(u.shape[1]):
        parents = np.flatnonzero(dag[:, child])
        design = np.hstack([np.ones((len(u), 1)), u[:, parents], np.tanh(u[:, parents])])
        coef = np.linalg.lstsq(design, u[:, child], rcond=None)[0]
        residual = u[:, child] - design @ coef
        k = len(parents)
        prior.bias[child] = float(coef[0])
        prior.log_scale[child] = float(np.log(max(residual.std(), 1e-3)))
        for p, lin, bend in zip(parents, coef[1 : 1 + k], coef[1 + k :]):
            prior.linear[p, child] = float(lin)
            prior.bend[p, child] = float(bend)


def _noise_dependence(module, X, n_threads, max_rows=500):
    """Sum over pairs of inferred exogenous noises of the HSIC statistic ``n * HSIC_b``."""
    module.eval()
    with torch.no_grad(), _torch_threads(n_threads):
        latent = module.embed(torch.as_tensor(X[:max_rows]))
        u, _ = module.prior.standardise(latent)
        noise = module.prior.noise(u)[0].numpy().astype(np.float64)
    rng = np.random.RandomState(0)
    total = 0.0
    for i, j in itertools.combinations(range(noise.shape[1]), 2):
        total += hsic_gamma_test(noise[:, [i]], noise[:, [j]], rng)[0]
    return total


def _drop_nested(candidates):
    """Drop candidate orders whose allowed edges are a subset of another's (e.g. under a prior)."""
    patterns = {label: allowed > 0 for label, allowed in candidates.items()}
    kept = {}
    for label, allowed in candidates.items():
        nested = any(
            other != label
            and np.all(patterns[label] <= patterns[other])
            and (not np.array_equal(patterns[label], patterns[other]) or other in kept)
            for other in candidates
        )
        if not nested:
            kept[label] = allowed
    return kept


def _reaches(graph, source, target):
    stack, seen = [source], {source}
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for child in np.flatnonzero(graph[node]):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return False


def _greedy_dag(weights, threshold):
    """Keep edges above ``threshold``, strongest first, skipping any that closes a cycle."""
    graph = np.zeros(weights.shape, dtype=int)
    candidates = np.argwhere(weights > threshold)
    for i, j in sorted(candidates.tolist(), key=lambda e: -weights[e[0], e[1]]):
        if not _reaches(graph, j, i):
            graph[i, j] = 1
    return graph


def _topological_order(graph):
    """Kahn's algorithm, ties broken by index."""
    indegree = graph.sum(axis=0).astype(int)
    ready = sorted(np.flatnonzero(indegree == 0).tolist())
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in np.flatnonzero(graph[node]):
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(int(child))
                ready.sort()
    return order


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
        beta=1.0,
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
        return [list(range(X.shape[1]))], [0], [self.n_components], 0, {None: None}

    def _latent_names(self):
        return [f"z_{i + 1}" for i in range(self.n_components)]
