"""Multimodal causal representation learning (PersonaX Level II).

:class:`MultimodalCRL` learns one latent block per modality plus shared latents
that follow a learnable sparse causal model; :class:`BetaVAE` is the baseline
with the same interface. :func:`mean_correlation_coefficient` measures
identifiability against known latents, and :func:`make_mcc_scorer` turns it
into a scorer for grid searches (true latents passed as ``y``).
"""

from ._betavae import BetaVAE
from ._mcc import make_mcc_scorer, match_latents, mcc_scorer, mean_correlation_coefficient
from ._multimodal import MultimodalCRL
from ._plot import plot_latent_graph

__all__ = [
    "BetaVAE",
    "MultimodalCRL",
    "make_mcc_scorer",
    "match_latents",
    "mcc_scorer",
    "mean_correlation_coefficient",
    "plot_latent_graph",
]
