"""skpersona: scikit-learn compatible personality recognition and analysis.

Subpackages
-----------
datasets
    Real data loaders (ChaLearn First Impressions V2, YouTube Personality) and
    synthetic generators with known ground truth.
au
    Facial action unit readers, extraction (py-feat), temporal features,
    keyframes, AU selection and AU-to-text description.
text
    Sentence-transformers embeddings, AU-text composition, LLM trait rating.
fusion
    skorch-backed multimodal trait regressors.
independence
    Independence tests, score functions, scorers and the dependency screen.
crl
    Multimodal causal representation learning (PersonaX Level II).
metrics
    Trait-prediction metrics and scorers.

:func:`load` reads a skops model file with your capabilities, never the file's
(see the user guide's threat model).
"""

__version__ = "0.1.0.dev0"

from ._loading import load  # noqa: E402
from .traits import BIG_FIVE, HEXACO, resolve_traits  # noqa: E402

__all__ = ["BIG_FIVE", "HEXACO", "load", "resolve_traits", "__version__"]
