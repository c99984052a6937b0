"""Shared machinery of the skorch-backed fusion estimators."""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import to_tensor

from ..utils import modality_columns
from ..utils._torch import check_stored_weights
from ..utils._torch import torch_threads as _torch_threads
from ._modules import FUSIONS, FusionModule

# Below this many training samples, ``early_stopping="auto"`` trains on all of them.
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 200
_PREDICT_BATCH = 4096
_SINGLE_MODALITY = "all"


def _with_weights(X, sample_weight, rows):
    """``X[rows]``, with the rows' weights attached when there are weights."""
    if sample_weight is None:
        return X[rows]
    return {"X": X[rows], "sample_weight": sample_weight[rows].astype(np.float32)}


class SingleModalityWarning(UserWarning):
    """A multimodal fusion found a single modality in its input (see ``modalities``)."""


class _WeightedNet(NeuralNet):
    """skorch's ``NeuralNet`` whose samples may carry weights.

    Weighted data travel as ``X = {"X": features, "sample_weight": weights}`` (weights
    scaled to mean 1): the module sees only the features, and the loss of a batch is
    the mean of the per-sample losses times their weights, an unbiased estimate of the
    weighted mean loss of the whole set (the full weighted loss for one batch). The
    per-sample losses come from the net's own criterion (every ``criterion__*``
    setting kept) with ``reduction="none"``.
    """

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = x["X"]
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if not isinstance(X, dict):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        weight = to_tensor(X["sample_weight"], device=self.device).to(y_pred.dtype)
        # A shallow copy: same settings and buffers (delta, pos_weight, ...), its own
        # reduction; rebuilding from the class would drop the criterion__* settings.
        per_sample_criterion = copy.copy(self.criterion_)
        per_sample_criterion.reduction = "none"
        per_value = per_sample_criterion(y_pred, to_tensor(y_true, device=self.device))
        per_sample = per_value.reshape(len(weight), -1).mean(dim=1)
        return (per_sample * weight).mean()


def _on_cuda(device):
    return str(device).startswith("cuda")


class _BaseFusion(BaseEstimator):
    """Parameters, network building, persistence and attributions shared by the fusion
    estimators. Subclasses define ``_criterion`` and the target handling."""

    # Under metadata routing, ``groups`` passed to cross_validate / a search (for a
    # grouped splitter) reaches fit as well, for the grouped early-stopping split,
    # without a set_fit_request call (which users of GroupKFold would otherwise need).
    # Routing (or fit's own ``groups``) is the only way groups arrive: fit never
    # looks for them elsewhere (the call stack, the caller's splitter).
    __metadata_request__fit = {"groups": True}

    _parameter_constraints = {
        "fusion": [StrOptions(set(FUSIONS))],
        "modalities": [dict, None],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "scale_features": ["boolean"],
        "torch_threads": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        fusion="gated",
        *,
        modalities=None,
        hidden_size=64,
        dropout=0.1,
        modality_dropout=0.1,
        n_heads=4,
        lr=1e-3,
        weight_decay=1e-4,
        max_epochs=100,
        batch_size=64,
        early_stopping="auto",
        validation_fraction=0.1,
        patience=10,
        scale_features=True,
        torch_threads=1,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.fusion = fusion
        self.modalities = modalities
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.modality_dropout = modality_dropout
        self.n_heads = n_heads
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.scale_features = scale_features
        self.torch_threads = torch_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ modalities
    def _resolve_modalities(self, n_features):
        names = getattr(self, "feature_names_in_", None)
        if self.modalities is not None:
            return modality_columns(names, self.modalities, n_features)
        prefixed = names is not None and sum("__" in str(n) for n in names)
        if prefixed and (prefixed == len(names) or self.fusion != "early"):
            return modality_columns(names, None, n_features)  # mixed names: a clear error
        # No prefixed names (a bare ndarray, or plain column names): one modality.
        if self.fusion != "early":
            what = "an array without feature names" if names is None else (
                "columns without modality prefixes")
            warnings.warn(
                f"fusion={self.fusion!r} fuses several modalities, but X is {what}, so all "
                f"{n_features} columns form one modality and the model is a plain "
                "one-modality network. Pass a DataFrame whose columns are prefixed by "
                "modality ('au__...', 'text__...', as ColumnTransformer(...)"
                ".set_output(transform='pandas') names them), or give the blocks with "
                "modalities={'au': [0, 1, ...], 'text': slice(k, None)}. To fit one "
                f"modality on purpose, pass modalities={{'all': slice(None)}} or "
                "fusion='early'.",
                SingleModalityWarning,
                stacklevel=5,  # the caller of fit (through sklearn's _fit_context)
            )
        return {_SINGLE_MODALITY: np.arange(n_features)}

    # ------------------------------------------------------------------ training
    def _use_validation(self, n_samples):
        if self.early_stopping == "auto":
            return n_samples >= _AUTO_EARLY_STOPPING_MIN_SAMPLES
        return bool(self.early_stopping)

    def _build_net(self, module_kwargs, train_split=None, callbacks=None, device=None):
        return _WeightedNet(
            module=FusionModule,
            criterion=self._criterion(),
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            iterator_train__shuffle=True,
            device=self.device if device is None else device,
            verbose=int(self.verbose),
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _fit_net(self, X, Y, groups=None, n_outputs=None, sample_weight=None):
        """Fit ``self.net_`` on standardised float32 ``X`` and training targets ``Y``
        (``n_outputs`` network outputs; default: Y's columns), with optional
        per-sample weights."""
        n_samples, n_features = X.shape
        blocks = self._resolve_modalities(n_features)
        self.modality_names_ = list(blocks)
        self.modality_columns_ = {m: np.asarray(idx) for m, idx in blocks.items()}
        self._module_kwargs = {
            "modality_indices": [idx.tolist() for idx in blocks.values()],
            "n_outputs": int(Y.shape[1] if n_outputs is None else n_outputs),
            "fusion": self.fusion,
            "hidden_size": int(self.hidden_size),
            "dropout": float(self.dropout),
            "modality_dropout": float(self.modality_dropout),
            "n_heads": int(self.n_heads),
        }
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        train_split, callbacks = None, []
        X_train, Y_train = X, Y
        if self._use_validation(n_samples):
            if groups is not None:
                splitter = GroupShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
            else:
                splitter = ShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
            train_idx, valid_idx = next(splitter.split(X, Y, groups))
            X_train, Y_train = X[train_idx], Y[train_idx]
            train_split = predefined_split(
                Dataset(_with_weights(X, sample_weight, valid_idx), Y[valid_idx]))
            callbacks.append(
                ("early_stopping", EarlyStopping(patience=self.patience, load_best=True))
            )
        else:
            train_idx = slice(None)
        X_train = _with_weights(X, sample_weight, train_idx)
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        net = self._build_net(self._module_kwargs, train_split, callbacks)
        # Seed torch's generators inside a fork, so the global RNG state is untouched.
        forked = None if _on_cuda(self.device) else []  # None: every CUDA device too
        with torch.random.fork_rng(devices=forked), _torch_threads(self.torch_threads):
            torch.manual_seed(seed)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="skorch")
                net.fit(X_train, Y_train)
        self.net_ = net
        history = net.history
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        if train_split is not None:
            self.validation_loss_curve_ = [float(v) for v in history[:, "valid_loss"]]
            self.best_epoch_ = int(np.argmin(self.validation_loss_curve_)) + 1
        else:
            self.validation_loss_curve_ = None
            self.best_epoch_ = len(self.loss_curve_)
        self.n_epochs_ = len(self.loss_curve_)
        weights = self._weights(X)
        self.modality_importance_ = pd.Series(
            weights.mean(axis=0), index=self.modality_names_, name="modality_importance"
        )
        return self

    def _prepare_X(self, X, reset, sample_weight=None):
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        if reset:
            self._x_scaler = StandardScaler(with_mean=self.scale_features,
                                            with_std=self.scale_features)
            self._x_scaler.fit(X, sample_weight=sample_weight)
        return self._x_scaler.transform(X).astype(np.float32)

    @staticmethod
    def _check_weights(sample_weight, X):
        """Validated weights scaled to mean 1 (None stays None)."""
        if sample_weight is None:
            return None
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                      ensure_non_negative=True)  # refuses all zeros too
        return weight / weight.mean()

    # ------------------------------------------------------------------ inference
    def _inference_module(self):
        # On the CPU in float64, wherever the network was trained.
        module = copy.deepcopy(self.net_.module_).cpu().double()
        module.eval()
        return module

    def _forward(self, X, keep=None):
        """Outputs and modality weights (numpy) for standardised ``X``.

        Inference runs in float64 on a copy of the network, so that predictions do
        not depend on how the samples are batched (float32 kernels differ by batch).
        """
        module = self._inference_module()
        X = np.asarray(X, dtype=np.float64)
        outs, weights = [], []
        with torch.no_grad(), _torch_threads(self.torch_threads):
            for start in range(0, X.shape[0], _PREDICT_BATCH):
                xb = torch.from_numpy(np.ascontiguousarray(X[start : start + _PREDICT_BATCH]))
                kb = None if keep is None else keep[start : start + _PREDICT_BATCH]
                out, w = module.forward_with_weights(xb, kb)
                outs.append(out.numpy())
                weights.append(None if w is None else w.numpy())
        out = np.concatenate(outs)
        if weights and weights[0] is not None:
            return out, np.concatenate(weights)
        return out, None

    def _weights(self, X):
        """Per-sample modality weights (n_samples, n_modalities) summing to 1."""
        n, n_mod = X.shape[0], len(self.modality_names_)
        if n_mod == 1:
            return np.ones((n, 1))
        full, weights = self._forward(X)
        if self.fusion in ("gated", "attention"):
            return weights.astype(np.float64)
        if self.fusion == "late":
            # Late: each modality's weighted head output, its pull away from the mean.
            module = self._inference_module()
            with torch.no_grad(), _torch_threads(self.torch_threads):
                terms = module.late_contributions(torch.from_numpy(X.astype(np.float64)))
            terms = terms.numpy()
            shifts = np.abs(terms).sum(axis=2).astype(np.float64)
        else:
            # Early: occlusion; how far the outputs move when a modality is zeroed.
            shifts = np.empty((n, n_mod))
            for m in range(n_mod):
                keep = torch.ones(n, n_mod, dtype=torch.bool)
                keep[:, m] = False
                dropped, _ = self._forward(X, keep)
                shifts[:, m] = np.abs(full - dropped).sum(axis=1)
        total = shifts.sum(axis=1, keepdims=True)
        return np.divide(shifts, total, out=np.full_like(shifts, 1.0 / n_mod), where=total > 0)

    def modality_weights(self, X):
        """Per-sample weight of each modality in the prediction.

        For ``fusion="gated"`` these are the gate's softmax weights, for
        ``"attention"`` the attention pooling weights; for ``"late"`` the size of each
        modality's weighted head output (its pull away from the training mean, in
        standardised units); for ``"early"`` an occlusion attribution: how far the
        standardised outputs move when the modality is set to its training mean.
        Late and early shares are normalised to sum to 1 per sample. With a single
        modality every weight is 1.

        Gate weights track how much of a trait each modality carries (on
        ``make_interviews``, the mean AU gate weight follows the true face share);
        attention pooling weights act on tokens already mixed by cross-modal
        attention and stay close to uniform, so read them with care.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        DataFrame of shape (n_samples, n_modalities)
            One column per modality (``modality_names_``); rows sum to 1. The index is
            X's when X is a DataFrame.
        """
        check_is_fitted(self)
        index = X.index if isinstance(X, pd.DataFrame) else None
        weights = self._weights(self._prepare_X(X, reset=False))
        return pd.DataFrame(weights, columns=self.modality_names_, index=index)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        """Keep the network as a dict of numpy arrays (pickle- and skops-friendly)."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ gives __dict__
        net = state.get("net_")
        if net is not None:
            state["net_"] = None
            state["_net_state"] = {
                k: v.detach().cpu().numpy() for k, v in net.module_.state_dict().items()
            }
        importance = state.get("modality_importance_")
        if isinstance(importance, pd.Series):
            state["modality_importance_"] = {
                "index": [str(i) for i in importance.index],
                "values": importance.to_numpy(dtype=float),
            }
        return state

    def __setstate__(self, state):
        state = dict(state)
        net_state = state.pop("_net_state", None)
        importance = state.get("modality_importance_")
        if isinstance(importance, dict):
            state["modality_importance_"] = pd.Series(
                np.asarray(importance["values"], dtype=float),
                index=list(importance["index"]),
                name="modality_importance",
            )
        state.setdefault("device", "cpu")  # files written before the parameter existed
        super().__setstate__(state)
        if net_state is not None:
            check_stored_weights(lambda: FusionModule(**self._module_kwargs), net_state,
                                 type(self).__name__)  # before allocating anything
            # Initialising draws random weights (overwritten below): keep the global RNG.
            # Inference runs on the CPU: a network trained on a GPU loads anywhere.
            with torch.random.fork_rng(devices=[]):
                net = self._build_net(self._module_kwargs, device="cpu").initialize()
            net.module_.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in net_state.items()})
            self.net_ = net
