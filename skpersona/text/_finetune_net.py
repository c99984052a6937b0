"""The network of FineTunedTextRegressor (torch and skorch, imported only when it is used)."""

import time

import torch
from skorch.callbacks import Callback
from torch import nn

from ._embedder import _embedding_dimension

_CHUNK = 16  # texts per encoder call (measured: 16 and 32 cost the same, one call of 80 twice as much)


class EncoderHead(nn.Module):
    """A sentence encoder shared by every answer, and one linear head on the answers'
    embeddings side by side.

    ``forward`` takes token ids and masks of shape (n_samples, n_answers, n_tokens),
    trims the padding that no row of the batch needs, embeds every answer with the
    encoder and maps the joined embeddings to the outputs. The frozen submodules
    (``frozen``: names in the encoder) stay in evaluation mode while training, so that
    they are a fixed function of the text (no dropout inside them).
    """

    def __init__(self, encoder, n_answers, n_outputs, dropout, frozen=()):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        dim = _embedding_dimension(encoder)
        self.head = nn.Linear(n_answers * dim, n_outputs)
        self._frozen = list(frozen)

    def embed(self, input_ids, attention_mask):
        n, k, length = input_ids.shape
        ids, mask = input_ids.reshape(n * k, length), attention_mask.reshape(n * k, length)
        # Texts sorted by length and embedded in chunks, each padded only to its own
        # longest text: the cost follows the real tokens, not the longest of the batch.
        lengths = mask.sum(dim=1)
        order = torch.argsort(lengths)
        parts = []
        for chunk in order.split(_CHUNK):
            used = max(int(lengths[chunk].max()), 1)
            out = self.encoder({"input_ids": ids[chunk, :used],
                                "attention_mask": mask[chunk, :used]})
            parts.append(out["sentence_embedding"])
        return torch.cat(parts)[torch.argsort(order)].reshape(n, -1)

    def forward(self, input_ids, attention_mask):
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    def train(self, mode=True):
        super().train(mode)
        for name in self._frozen:
            self.encoder.get_submodule(name).eval()
        return self


def transformer_layers(encoder):
    """``(prefix, ModuleList)`` of the encoder's stacked transformer layers: the longest
    ``ModuleList`` inside the sentence-transformers model (``0.auto_model.encoder.layer``
    for BERT, ``...layers`` for others)."""
    lists = [(name, module) for name, module in encoder.named_modules()
             if isinstance(module, nn.ModuleList) and len(module) > 0]
    if not lists:
        raise ValueError("the sentence-transformers model has no stacked transformer layers "
                         "(no ModuleList) to freeze; use n_trainable_layers=None to train all "
                         "of it.")
    return max(lists, key=lambda item: len(item[1]))


def freeze(encoder, n_trainable_layers):
    """Freeze all of the encoder's transformer except its top ``n_trainable_layers``
    layers (None: nothing frozen); modules after the transformer (pooling, dense,
    normalisation) stay trainable. Returns the names of the frozen submodules."""
    if n_trainable_layers is None:
        return []
    prefix, layers = transformer_layers(encoder)
    if n_trainable_layers > len(layers):
        raise ValueError(f"n_trainable_layers={n_trainable_layers}, but the model has "
                         f"{len(layers)} transformer layers; use at most {len(layers)}, or "
                         "None to train every weight (embeddings included).")
    transformer = encoder[0]
    trainable = {f"{prefix}.{i}" for i in range(len(layers) - n_trainable_layers, len(layers))}
    frozen = []
    for name, _ in transformer.named_modules(prefix="0"):
        inside_trainable = any(name == t or name.startswith(t + ".") for t in trainable)
        if inside_trainable or any(t.startswith(name + ".") for t in trainable):
            continue  # a trainable layer, or a parent of one
        if not any(frozen_name and name.startswith(frozen_name + ".") for frozen_name in frozen):
            frozen.append(name)
    for name in frozen:
        encoder.get_submodule(name).requires_grad_(False)
    return frozen


class EpochTime(Callback):
    """skorch callback: CPU seconds of this process per epoch, as history column
    ``cpu_s`` (printed with the epoch table)."""

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("cpu_s", time.process_time() - self._start)
