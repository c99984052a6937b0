"""Torch modules for multimodal fusion (early, gated, attention, late)."""

import math

import torch
from torch import nn

FUSIONS = ("early", "gated", "attention", "late")


def _encoder(n_in, hidden_size, dropout):
    return nn.Sequential(nn.Linear(n_in, hidden_size), nn.ReLU(), nn.Dropout(dropout))


class FusionModule(nn.Module):
    """A small multimodal network: per-modality encoders, a fusion step, a linear head.

    Parameters
    ----------
    modality_indices : list of list of int
        Column indices of each modality in the input matrix.
    n_outputs : int
        Number of outputs (traits, or logits for a classifier).
    fusion : {"early", "gated", "attention", "late"}
        ``"early"``: one encoder over the concatenated modalities.
        ``"gated"``: one encoder per modality; a softmax gate computed from all
        encodings weighs them per sample.
        ``"attention"``: the modality encodings are tokens; multi-head self-attention
        lets each modality attend to the others (cross-modal attention), and an
        attention pooling with a learned query weighs them per sample.
        ``"late"``: one encoder and one head per modality; the heads' outputs are
        averaged with learned softmax weights (initially a plain average).
    hidden_size : int
        Width of every hidden layer.
    dropout : float
        Dropout after each encoder.
    modality_dropout : float
        During training, each modality of each sample is dropped (its inputs set to
        zero, i.e. the training mean after standardisation, and its weight masked)
        with this probability; at least one modality per sample is kept.
    n_heads : int
        Attention heads (``fusion="attention"`` only).
    """

    def __init__(
        self,
        modality_indices,
        n_outputs,
        fusion="gated",
        hidden_size=64,
        dropout=0.1,
        modality_dropout=0.0,
        n_heads=4,
    ):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}.")
        self.fusion = fusion
        self.modality_dropout = float(modality_dropout)
        self.n_modalities = len(modality_indices)
        for m, idx in enumerate(modality_indices):
            self.register_buffer(f"_idx{m}", torch.as_tensor(list(idx), dtype=torch.long), False)
        sizes = [len(idx) for idx in modality_indices]
        if fusion == "early":
            self.encoder = _encoder(sum(sizes), hidden_size, dropout)
        else:
            self.encoders = nn.ModuleList(_encoder(d, hidden_size, dropout) for d in sizes)
        if fusion == "gated":
            self.gate = nn.Linear(hidden_size * self.n_modalities, self.n_modalities)
        elif fusion == "attention":
            self.modality_embedding = nn.Parameter(torch.zeros(self.n_modalities, hidden_size))
            self.attention = nn.MultiheadAttention(
                hidden_size, n_heads, dropout=dropout, batch_first=True
            )
            self.norm = nn.LayerNorm(hidden_size)
            self.query = nn.Parameter(torch.randn(hidden_size) / math.sqrt(hidden_size))
        if fusion == "late":
            self.heads = nn.ModuleList(nn.Linear(hidden_size, n_outputs) for _ in sizes)
            self.mix_logits = nn.Parameter(torch.zeros(self.n_modalities))
        else:
            self.head = nn.Linear(hidden_size, n_outputs)

    def _blocks(self, X):
        return [X[:, getattr(self, f"_idx{m}")] for m in range(self.n_modalities)]

    def _keep_mask(self, n, device):
        """(n, M) boolean mask of the modalities kept for each sample."""
        if not self.training or self.modality_dropout <= 0 or self.n_modalities < 2:
            return None
        keep = torch.rand(n, self.n_modalities, device=device) >= self.modality_dropout
        none = ~keep.any(dim=1)
        if none.any():
            rescue = torch.randint(self.n_modalities, (int(none.sum()),), device=device)
            keep[none.nonzero(as_tuple=True)[0], rescue] = True
        return keep

    def forward_with_weights(self, X, keep=None):
        """Return the outputs and the per-sample modality weights.

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_features)
        keep : bool Tensor of shape (n_samples, n_modalities) or None
            Modalities to keep; None keeps all (or draws the modality dropout mask in
            training mode).

        Returns
        -------
        out : Tensor of shape (n_samples, n_outputs)
        weights : Tensor of shape (n_samples, n_modalities) or None
            The gate (gated), attention pooling (attention) or mixing (late) weights;
            None for early fusion, which has no per-modality weight.
        """
        if keep is None:
            keep = self._keep_mask(X.shape[0], X.device)
        blocks = self._blocks(X)
        if keep is not None:
            blocks = [b * keep[:, m : m + 1].to(b.dtype) for m, b in enumerate(blocks)]
        if self.fusion == "early":
            return self.head(self.encoder(torch.cat(blocks, dim=1))), None
        hidden = [enc(b) for enc, b in zip(self.encoders, blocks)]
        if self.fusion == "late":
            outs = torch.stack([head(h) for head, h in zip(self.heads, hidden)], dim=1)
            logits = self.mix_logits.expand(X.shape[0], -1)
            weights = self._softmax(logits, keep)
            return (weights.unsqueeze(-1) * outs).sum(dim=1), weights
        if self.fusion == "gated":
            weights = self._softmax(self.gate(torch.cat(hidden, dim=1)), keep)
            fused = (weights.unsqueeze(-1) * torch.stack(hidden, dim=1)).sum(dim=1)
            return self.head(fused), weights
        tokens = torch.stack(hidden, dim=1) + self.modality_embedding
        padding = None if keep is None else ~keep
        attended, _ = self.attention(
            tokens, tokens, tokens, key_padding_mask=padding, need_weights=False
        )
        tokens = self.norm(tokens + attended)
        scores = tokens @ self.query / math.sqrt(tokens.shape[-1])
        weights = self._softmax(scores, keep)
        return self.head((weights.unsqueeze(-1) * tokens).sum(dim=1)), weights

    def late_contributions(self, X):
        """Per-modality terms ``w_m * head_m(x)`` of a late-fusion output.

        Returns a Tensor of shape (n_samples, n_modalities, n_outputs) whose sum over
        modalities is the output (in the standardised target scale, where 0 is the
        training mean, so each term is that modality's pull away from the mean).
        """
        if self.fusion != "late":
            raise ValueError("late_contributions needs fusion='late'.")
        hidden = [enc(b) for enc, b in zip(self.encoders, self._blocks(X))]
        outs = torch.stack([head(h) for head, h in zip(self.heads, hidden)], dim=1)
        weights = torch.softmax(self.mix_logits, dim=0)
        return weights[None, :, None] * outs

    @staticmethod
    def _softmax(logits, keep):
        if keep is not None:
            logits = logits.masked_fill(~keep, float("-inf"))
        return torch.softmax(logits, dim=1)

    def forward(self, X):
        return self.forward_with_weights(X)[0]
