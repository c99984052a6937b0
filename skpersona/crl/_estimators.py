"""Former home of the latent models, kept so that model files saved before the split load.

skops finds a class by the module path stored in the file; files written before
the estimators moved name ``skpersona.crl._estimators``. New code imports from
:mod:`skpersona.crl`.
"""

from ._betavae import BetaVAE
from ._multimodal import MultimodalCRL

__all__ = ["BetaVAE", "MultimodalCRL"]
