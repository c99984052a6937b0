"""
Five traits in one network with FLAML
=====================================

FLAML's ``AutoML`` tunes models for *one* target: it flattens a 2-D ``y``, and the
usual way around that, ``MultiOutputRegressor``, would train one network per trait
and lose what the traits share. :class:`skpersona.automl.FusionAutoML` registers
:class:`~skpersona.automl.FusionLearner` (a
:class:`~skpersona.fusion.FusionRegressor` with a search space that starts small and
cheap) and passes the trait matrix through FLAML as one row vector per sample, so
one network is tuned for all five Big Five traits, scored by mean accuracy.

``FusionAutoML`` registers its learner in the constructor: a plain ``AutoML`` with
``add_learner("fusion", ...)`` forgets it when ``sklearn.base.clone`` copies it
(``cross_validate`` and every search do), and then fails on ``estimator_list=["fusion"]``.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skpersona.au import AUStatistics
from skpersona.automl import FusionAutoML
from skpersona.datasets import make_interviews
from skpersona.metrics import mean_accuracy_score

data = make_interviews(n_samples=300, n_frames=60, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.3,
                                                    random_state=0)
features = ColumnTransformer([
    ("au", AUStatistics(statistics=("mean", "std", "active_rate")), "video"),
    ("text", make_pipeline(TfidfVectorizer(), TruncatedSVD(20, random_state=0)), "transcript"),
])


def featurise(table, fit=False):
    """Named columns (au__..., text__...) for the two modalities; fitted on training only."""
    values = features.fit_transform(table) if fit else features.transform(table)
    return pd.DataFrame(values, columns=features.get_feature_names_out(), index=table.index)


F_train, F_test = featurise(X_train, fit=True), featurise(X_test)

# %%
# A tiny budget: six configurations, each scored by 3-fold cross-validation.
automl = FusionAutoML(max_iter=6, eval_method="cv", n_splits=3, seed=0, verbose=0)
automl.fit(F_train, y_train)
best = automl.model.estimator
print("best configuration:", automl.best_config)
print(f"one network, {best.n_outputs_} outputs, modalities {best.modality_names_}")

# %%
# Held-out mean accuracy per trait, against predicting the training mean.
pred = automl.predict(F_test)
mean_only = np.tile(y_train.mean().to_numpy(), (len(y_test), 1))
scores = pd.DataFrame({
    "FLAML-tuned fusion": mean_accuracy_score(y_test, pred, multioutput="raw_values"),
    "training mean": mean_accuracy_score(y_test, mean_only, multioutput="raw_values"),
})
print(scores.round(4))
ax = scores.plot.bar(figsize=(8, 4), rot=20)
ax.set_ylim(scores.to_numpy().min() - 0.02, 1.0)
ax.set_ylabel("held-out mean accuracy")
ax.set_title("One fusion network for five traits, tuned by FLAML")
plt.tight_layout()
plt.show()
