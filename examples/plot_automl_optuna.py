"""
Tuning a fusion network with Optuna
===================================

:func:`skpersona.automl.optuna_space` gives the main parameters of
:class:`~skpersona.fusion.FusionRegressor` as Optuna distributions, ready for
``OptunaSearchCV``. The search scores with skpersona's mean accuracy, passed as the
scorer *object* ``SCORERS["mean_accuracy"]`` (Optuna, like scikit-learn, does not
know skpersona's scorer names). ``hidden_size`` and ``n_heads`` are drawn
independently: attention rounds its width up to a multiple of the heads, so no trial
fails. The budget here is tiny (a few trials of a few epochs); raise ``n_trials``
and ``max_epochs`` on real data.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
from optuna_integration import OptunaSearchCV
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.dummy import DummyRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skpersona.au import AUStatistics
from skpersona.automl import optuna_space
from skpersona.datasets import make_interviews
from skpersona.fusion import FusionRegressor
from skpersona.metrics import SCORERS

optuna.logging.set_verbosity(optuna.logging.WARNING)
# optuna-integration reports each trial's fold scores to optuna.terminator, which
# Optuna 4.9 deprecated: one FutureWarning per trial about code outside this example.
warnings.filterwarnings("ignore", message="`optuna.terminator` module has been deprecated",
                        category=FutureWarning)
data = make_interviews(n_samples=240, n_frames=60, random_state=0)
features = ColumnTransformer([
    ("au", AUStatistics(statistics=("mean", "std", "active_rate")), "video"),
    ("text", make_pipeline(TfidfVectorizer(), TruncatedSVD(20, random_state=0)), "transcript"),
])
# Named columns (au__..., text__...) tell the fusion network the two modalities apart.
X = pd.DataFrame(features.fit_transform(data.data), columns=features.get_feature_names_out())
y = data.target

# %%
# The search: five traits in one network, three folds, eight trials.
space = optuna_space(params=["fusion", "hidden_size", "n_heads", "lr", "dropout"])
print({name: str(dist) for name, dist in space.items()})
cv = KFold(3, shuffle=True, random_state=0)
search = OptunaSearchCV(
    FusionRegressor(max_epochs=25, random_state=0), space, n_trials=8, cv=cv,
    scoring=SCORERS["mean_accuracy"], random_state=0,
)
search.fit(X, y)
baseline = cross_val_score(DummyRegressor(), X, y, cv=cv, scoring=SCORERS["mean_accuracy"])
print("best parameters:", search.best_params_)
print(f"best mean accuracy {search.best_score_:.4f}; predicting the training mean "
      f"{baseline.mean():.4f}")

# %%
# Each trial's cross-validated mean accuracy, the best so far, and the mean predictor.
scores = np.array([t.value for t in search.trials_])
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(np.arange(1, len(scores) + 1), scores, "o", label="trial")
ax.plot(np.arange(1, len(scores) + 1), np.maximum.accumulate(scores), "-", label="best so far")
ax.axhline(baseline.mean(), color="grey", linestyle="--", label="training mean")
ax.set_xlabel("trial")
ax.set_ylabel("mean accuracy (3-fold CV)")
ax.set_title("OptunaSearchCV over FusionRegressor")
ax.legend()
fig.tight_layout()
plt.show()
