"""Torch modules for multimodal fusion (early, gated, attention, late)."""

import math

import torch
from torch import nn

FUSIONS = ("early", "gated", "attention", "late")


def attention_width(hidden_size, n_heads):
    """The smallest multiple of ``n_heads`` that is at least ``hidden_size``."""
    return int(n_heads) * math.ceil(int(hidden_size) / int(n_heads))


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
        encodings weighs them per sample and per output (each trait has its own
        gate, since traits differ in which modality shows them), and one linear
        head per output reads its gated mixture.
        ``"attention"``: the modality encodings are tokens; multi-head self-attention
        lets each modality attend to the others (cross-modal attention), and an
        attention pooling with one learned query per output weighs them.
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
        Attention heads (``fusion="attention"`` only). Any ``hidden_size`` works:
        when ``n_heads`` does not divide it, the attention width (and so every
        encoder's width) is rounded up to the next multiple of ``n_heads``, so that
        each head gets a whole number of dimensions.

    Attributes
    ----------
    width : int
        The width of the hidden layers in use: ``hidden_size``, or for attention
        ``n_heads * ceil(hidden_size / n_heads)``.
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
        if fusion == "attention":
            # nn.MultiheadAttention splits its width evenly over the heads.
            hidden_size = attention_width(hidden_size, n_heads)
        self.width = int(hidden_size)
        self.modality_dropout = float(modality_dropout)
        self.n_modalities = len(modality_indices)
        for m, idx in enumerate(modality_indices):
            self.register_buffer(f"_idx{m}", torch.as_tensor(list(idx), dtype=torch.long), False)
        sizes = [len(idx) for idx in modality_indices]
        if fusion == "early":
            self.encoder = _encoder(sum(sizes), hidden_size, dropout)
        else:
            self.encoders = nn.ModuleList(_encoder(d, hidden_size, dropout) for d in sizes)
        self.n_outputs = int(n_outputs)
        if fusion == "gated":
            # One gate per output: traits differ in which modality shows them.
            self.gate = nn.Linear(hidden_size * self.n_modalities, self.n_modalities * n_outputs)
        elif fusion == "attention":
            self.modality_embedding = nn.Parameter(torch.zeros(self.n_modalities, hidden_size))
            self.attention = nn.MultiheadAttention(
                hidden_size, n_heads, dropout=dropout, batch_first=True
            )
            self.norm = nn.LayerNorm(hidden_size)
            self.query = nn.Parameter(
                torch.randn(n_outputs, hidden_size) / math.sqrt(hidden_size)
            )
        if fusion == "late":
            self.heads = nn.ModuleList(nn.Linear(hidden_size, n_outputs) for _ in sizes)
            self.mix_logits = nn.Parameter(torch.zeros(self.n_modalities))
        elif fusion == "early":
            self.head = nn.Linear(hidden_size, n_outputs)
        else:  # one linear head per output, on that output's fused representation
            bound = 1 / math.sqrt(hidden_size)
            self.head_weight = nn.Parameter(torch.empty(n_outputs, hidden_size).uniform_(-bound, bound))
            self.head_bias = nn.Parameter(torch.empty(n_outputs).uniform_(-bound, bound))

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
            The gate (gated), attention pooling (attention), averaged over outputs,
            or mixing (late) weights; None for early fusion.
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
        n = X.shape[0]
        out_keep = None if keep is None else keep[:, None, :].expand(-1, self.n_outputs, -1)
        if self.fusion == "gated":
            logits = self.gate(torch.cat(hidden, dim=1)).view(n, self.n_outputs, -1)
            weights = self._softmax(logits, out_keep)  # (n, n_outputs, M)
            fused = torch.einsum("nkm,nmh->nkh", weights, torch.stack(hidden, dim=1))
            return self._per_output_head(fused), weights.mean(dim=1)
        tokens = torch.stack(hidden, dim=1) + self.modality_embedding
        padding = None if keep is None else ~keep
        attended, _ = self.attention(
            tokens, tokens, tokens, key_padding_mask=padding, need_weights=False
        )
        tokens = self.norm(tokens + attended)
        scores = torch.einsum("nmh,kh->nkm", tokens, self.query) / math.sqrt(tokens.shape[-1])
        weights = self._softmax(scores, out_keep)  # (n, n_outputs, M)
        fused = torch.einsum("nkm,nmh->nkh", weights, tokens)
        return self._per_output_head(fused), weights.mean(dim=1)

    def _per_output_head(self, fused):
        return (fused * self.head_weight).sum(dim=-1) + self.head_bias

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
        return torch.softmax(logits, dim=-1)

    def forward(self, X):
        return self.forward_with_weights(X)[0]
