"""The skorch net that trains the latent models, its callbacks and helpers to read it."""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping

from ..utils._torch import torch_threads


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


def _noop(*args, **kwargs):
    return None


def training_callbacks(warmup, patience):
    """The callbacks of a net: the DAG schedule, a warm-up and early stopping (optional)."""
    callbacks = [("acyclicity", _AcyclicitySchedule())]
    if warmup:
        callbacks.append(("shared_warmup", _SharedWarmup(warmup)))
    if patience is not None:
        callbacks.append(
            ("early_stopping", _EarlyStoppingAfterWarmup(
                warmup, patience=patience, load_best=True, sink=_noop
            ))
        )
    return callbacks


def best_loss(net):
    """The validation loss of the epoch whose weights the net keeps.

    With early stopping that is the best epoch *after* the shared warm-up (the
    weights ``load_best`` restores; a warm-up epoch's loss belongs to a model
    whose content latents were hidden, never kept); without it, the last
    epoch. The training loss stands in where there is no validation split.
    """
    key = "valid_loss" if "valid_loss" in net.history[-1] else "train_loss"
    stopper = dict(net.callbacks_).get("early_stopping")
    epoch = getattr(stopper, "best_epoch_", 0) or net.history[-1, "epoch"]
    return float(next(row[key] for row in net.history if row["epoch"] == epoch))


def validation_index(net, Xs):
    """Indices of the net's internal validation split (all rows without one)."""
    _, valid = net.get_split_datasets(Xs, None)
    return np.arange(len(Xs)) if valid is None else np.asarray(valid.indices)


def validation_rows(net, Xs):
    """The rows of the net's internal validation split (all rows without one)."""
    return Xs[validation_index(net, Xs)]


def embed(module, X, n_threads):
    """Posterior means of the latents of the standardised rows ``X`` (float64)."""
    module.eval()
    with torch.no_grad(), torch_threads(n_threads):
        return module.embed(torch.as_tensor(X)).numpy().astype(np.float64)
