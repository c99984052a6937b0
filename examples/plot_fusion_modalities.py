"""
Which modality drives each trait? Gated fusion of AUs and words
===============================================================

:func:`~skpersona.datasets.make_interviews` generates interviews whose traits are
shown in the face only (neuroticism), in the words only (openness), or half in each
(conscientiousness, extraversion, agreeableness). We turn the AU frame tables into
:class:`~skpersona.au.AUStatistics` features and the transcripts into TF-IDF/SVD
features, one ``ColumnTransformer`` naming them ``au__...`` and ``text__...``, and
fit one gated :class:`~skpersona.fusion.FusionRegressor` per trait. Its
``modality_importance_`` (the mean gate weight of each modality) recovers how much
of each trait the face carries; ``modality_weights`` gives the same per interview.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from skpersona.au import AUStatistics
from skpersona.datasets import make_interviews
from skpersona.fusion import FusionRegressor

data = make_interviews(n_samples=300, random_state=0)
features = ColumnTransformer(
    [
        ("au", AUStatistics(statistics=("mean", "std", "active_rate")), "video"),
        ("text", make_pipeline(TfidfVectorizer(), TruncatedSVD(20, random_state=0)), "transcript"),
    ]
)
# TfidfVectorizer has no pandas output, so name the columns from the transformer.
X = pd.DataFrame(features.fit_transform(data.data), columns=features.get_feature_names_out())

# %%
# One gated fusion model per trait; the gate weighs the AU and text encodings of
# every interview.
importance, weights = {}, {}
for trait in data.target.columns:
    model = FusionRegressor("gated", hidden_size=32, max_epochs=60, random_state=0)
    model.fit(X, data.target[trait])
    importance[trait] = model.modality_importance_["au"]
    weights[trait] = model.modality_weights(X)["au"]
    print(f"{trait:<18} face share {data.face_share[trait]:.1f}  AU gate weight "
          f"{importance[trait]:.2f}")

# %%
# The mean AU gate weight follows the share of the trait visible in the face, and
# the per-interview weights spread around it.
traits = list(data.target.columns)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
pos = np.arange(len(traits))
ax1.bar(pos - 0.2, [data.face_share[t] for t in traits], 0.4, label="true face share")
ax1.bar(pos + 0.2, [importance[t] for t in traits], 0.4, label="mean AU gate weight")
ax1.set_xticks(pos, [t[:5] for t in traits])
ax1.set_ylim(0, 1)
ax1.legend()
ax1.set_title("Share of the face in each trait")
ax2.boxplot([weights[t] for t in traits])
ax2.set_xticks(pos + 1, [t[:5] for t in traits])
ax2.set_ylim(0, 1)
ax2.set_title("AU gate weight per interview")
fig.tight_layout()
plt.show()
