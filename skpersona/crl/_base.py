"""What the latent models share: the fit loop, persistence, transform and scoring."""

import json
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.dataset import ValidSplit
from skorch.history import History

from ..utils._torch import check_stored_weights
from ..utils._torch import torch_threads as _torch_threads
from ._modules import MultimodalVAE
from ._net import LatentNet, best_loss, embed, training_callbacks

# Most trainable parameters a network may have (with Adam's two moments and the
# gradients, about 16 bytes each: 1.6 GB). A mistyped size should fail at once with a
# message, not after minutes of swapping or with an allocator's error.
_MAX_PARAMETERS = 10**8

_Layout = namedtuple(
    "_Layout", "measurement_columns measurement_modality latent_dims n_shared candidates"
)
_Layout.__doc__ = """How the columns map to latents, and the candidate structures to fit.

``candidates`` maps a label (e.g. an order of the modalities) to the allowed
adjacency among the latents (None: an isotropic prior).
"""

_Run = namedtuple("_Run", "loss net module_args warmup")
_Run.__doc__ = """A trained net: its best validation loss, the net, its module's
arguments and the epochs of its shared warm-up (0: none)."""


def _seed(random_state):
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _LatentModel(TransformerMixin, BaseEstimator):
    """Shared fitting, transform and scoring of the skorch-trained latent models.

    ``fit`` runs one loop: every candidate structure of :meth:`_layout` is trained
    from the same ``n_init`` initialisations (each with every warm-up schedule of
    :meth:`_warmup_schedules`, the best validation loss kept), then :meth:`_choose`
    keeps one run. Subclasses provide the layout, the latents' names and, where
    they choose differently, ``_choose``.
    """

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
        "n_score_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- to be provided by subclasses -------------------------------------------------
    def _layout(self, X, names):
        """The :class:`_Layout` of ``X`` (column ``names`` or None)."""
        raise NotImplementedError

    def _latent_names(self):
        raise NotImplementedError

    def _a_sp(self):
        return 0.0

    def _image_shapes(self, columns, modality_of):
        """Per measurement, ``(height, width, channels)`` of an image or None (an MLP)."""
        return None

    def _warmup_schedules(self, module_args):
        """Shared-latent warm-up lengths (epochs) tried by every fresh fit; none here."""
        return [0]

    def _choose(self, runs, Xs, split_seed, refit_seed):
        """The kept :class:`_Run` of ``runs`` (per candidate, one per initialisation).

        Here the best validation ELBO, first of each candidate's restarts, then
        of the candidates.
        """
        best = {label: min(found, key=lambda run: run.loss) for label, found in runs.items()}
        return best[min(best, key=lambda label: best[label].loss)]

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
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        layout = self._layout(X, getattr(self, "feature_names_in_", None))
        rng = check_random_state(self.random_state)
        split_seed = _seed(rng)  # one validation split for every net
        # One set of initialisations shared by all candidate structures: their
        # validation losses then differ by the structure, not by the luck of the draw.
        init_seeds = [_seed(rng) for _ in range(self.n_init)]
        refit_seed = _seed(rng)
        Xs = self._standardise(X)
        self._n_fit_samples = X.shape[0]
        image_shapes = self._image_shapes(layout.measurement_columns, layout.measurement_modality)
        runs = {}  # per candidate structure, one run per initialisation
        for label, allowed in layout.candidates.items():
            args = _module_arguments(self, layout, allowed, image_shapes)
            self._check_size(args)
            runs[label] = [self._train(Xs, args, split_seed, seed) for seed in init_seeds]
        kept = self._choose(runs, Xs, split_seed, refit_seed)
        self.net_, self._module_args, self.selection_loss_ = kept.net, kept.module_args, kept.loss
        self.net_.module_.eval()
        self.n_epochs_ = len(self.net_.history)
        return self

    def _train(self, Xs, module_args, split_seed, seed):
        """One initialisation: a net per warm-up schedule, all from ``seed``; the best kept.

        The schedules escape different local optima of the same likelihood, so the
        best validation ELBO decides between them.
        """
        schedules = []
        for warmup in self._warmup_schedules(module_args):
            # Seed torch inside a fork, so the caller's global RNG state is untouched.
            with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
                torch.manual_seed(seed)
                net = self._make_net(Xs.shape[0], split_seed, module_args, warmup)
                net.fit(Xs, None)
            schedules.append(_Run(best_loss(net), net, module_args, warmup))
        return min(schedules, key=lambda run: run.loss)

    def _check_size(self, module_args):
        """Refuse a network too large to train, before allocating anything."""
        # shapes only, on the meta device: no memory, and torch's random state untouched
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            module = self._build_module(module_args)
        n_parameters = sum(p.numel() for p in module.parameters())
        if n_parameters > _MAX_PARAMETERS:
            raise ValueError(
                f"{type(self).__name__} would train a network of {n_parameters:,} parameters "
                f"(at most {_MAX_PARAMETERS:,}); lower hidden_size, n_hidden_layers, "
                "n_flow_layers or the number of latents."
            )

    def _build_module(self, module_args):
        """The torch module a net trains (one place, so a subclass can swap it)."""
        return MultimodalVAE(**module_args)

    def _make_net(self, n_samples, seed, module_args=None, warmup=0):
        use_valid = self.validation_fraction is not None and n_samples >= 10
        args = self._module_args if module_args is None else module_args
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
            callbacks=training_callbacks(warmup, self.patience if use_valid else None),
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
        state.setdefault("n_score_samples", 16)  # files saved before the parameter existed
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
        return embed(self.net_.module_, self._tensor(X), self.n_threads)

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
        """Held-out importance-weighted ELBO per sample (greater is better); ``y`` is ignored.

        ``log mean_k p(x, z_k) / q(z_k | x)`` over ``n_score_samples`` posterior
        draws ``z_k`` (Burda et al., 2016): a lower bound on ``log p(x)`` at least
        as tight, on average, as the one-draw ELBO, with less Monte-Carlo noise.
        The draws come from a fixed seed, so the score is deterministic. The
        bound does not depend on the loss weights, so it compares models fitted
        with different ``a_recon`` or ``a_ind`` (e.g. in ``GridSearchCV``)
        without the true latents; it cannot choose ``a_sp`` (see the class
        documentation): a likelihood never prefers the sparser graph.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out observations.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The bound per sample, in nats.
        """
        Xt = self._tensor(X)
        module = self.net_.module_
        module.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad(), _torch_threads(self.n_threads):
            torch.manual_seed(0)
            log_w = torch.stack([module.log_weight(Xt) for _ in range(self.n_score_samples)])
        bound = torch.logsumexp(log_w.double(), dim=0) - np.log(self.n_score_samples)
        return float(bound.mean())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = False
        return tags


def _module_arguments(est, layout, allowed, image_shapes):
    """The torch module's arguments (plain values, so that skops can store them)."""
    return dict(
        measurement_columns=[list(map(int, c)) for c in layout.measurement_columns],
        measurement_modality=list(map(int, layout.measurement_modality)),
        latent_dims=list(map(int, layout.latent_dims)),
        n_shared=int(layout.n_shared),
        allowed=None if allowed is None else np.asarray(allowed, dtype=np.float64),
        hidden=int(est.hidden_size),
        n_layers=int(est.n_hidden_layers),
        n_flow_layers=int(est.n_flow_layers),
        image_shapes=image_shapes,
    )
