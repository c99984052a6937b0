"""
A fusion network as a TPOT search node
======================================

TPOT 1.x evolves pipelines whose nodes are described by ConfigSpace spaces.
:func:`skpersona.automl.configspace_space` gives the main parameters of
:class:`~skpersona.fusion.FusionRegressor` in that form, so the fusion network
becomes one node (``EstimatorNode``) that TPOT tunes; here it is the whole search
space, with a tiny budget (one generation of a small population, a few epochs).
The objective is skpersona's mean accuracy, passed to ``scorers=`` as the scorer
*object* ``SCORERS["mean_accuracy"]``.

The extraversion trait of :func:`~skpersona.datasets.make_interviews` is half in
the face and half in the words, so the network must fuse both modalities.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tpot
from distributed import Client, LocalCluster
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from tpot.search_spaces.nodes import EstimatorNode

from skpersona.au import AUStatistics
from skpersona.automl import configspace_space
from skpersona.datasets import make_interviews
from skpersona.fusion import FusionRegressor
from skpersona.metrics import SCORERS, mean_accuracy_score

data = make_interviews(n_samples=240, n_frames=60, random_state=0)
features = ColumnTransformer([
    ("au", AUStatistics(statistics=("mean", "std", "active_rate")), "video"),
    ("text", make_pipeline(TfidfVectorizer(), TruncatedSVD(20, random_state=0)), "transcript"),
])
X = pd.DataFrame(features.fit_transform(data.data), columns=features.get_feature_names_out())
y = data.target["extraversion"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# The node: FusionRegressor with a ConfigSpace space; fixed settings are added by
# ``hyperparameter_parser`` (a short training and a seed).
space = configspace_space(params=["fusion", "hidden_size", "lr", "dropout"], seed=0)
print(space)
node = EstimatorNode(
    FusionRegressor, space,
    hyperparameter_parser=lambda params: {**params, "max_epochs": 20, "random_state": 0},
)
# TPOT evaluates on a Dask cluster; an in-process one (threads) needs no
# ``if __name__ == "__main__":`` guard in a script.
with Client(LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                         dashboard_address=None)) as client:
    search = tpot.TPOTRegressor(
        search_space=node, scorers=[SCORERS["mean_accuracy"]], scorers_weights=[1], cv=3,
        generations=1, population_size=4, max_time_mins=3, verbose=0, random_state=0,
        client=client,
    )
    search.fit(X_train, y_train)
best = search.fitted_pipeline_
print(best)

# %%
# Held-out mean accuracy of the evolved network against the training mean.
scores = pd.Series({
    "TPOT fusion node": mean_accuracy_score(y_test, best.predict(X_test)),
    "training mean": mean_accuracy_score(y_test, np.full(len(y_test), y_train.mean())),
})
print(scores.round(4))
ax = scores.plot.barh(figsize=(7, 2.8), color=["tab:blue", "tab:gray"])
ax.set_xlim(scores.min() - 0.02, scores.max() + 0.01)
ax.set_xlabel("held-out mean accuracy (extraversion)")
ax.set_title("TPOT tuning a FusionRegressor node")
plt.tight_layout()
plt.show()
