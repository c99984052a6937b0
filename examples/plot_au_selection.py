"""
Selecting and describing facial action units
=============================================

Interview videos become frame tables of action unit (AU) intensities. Here
:func:`skpersona.datasets.make_interviews` simulates them (OpenFace 0-5 scale);
with real videos, :class:`skpersona.au.AUExtractor` (py-feat) or
:func:`skpersona.au.read_openface` give the same tables.

We keep windows around the keyframes of each video, summarise them with
:class:`~skpersona.au.AUStatistics`, let :class:`~skpersona.au.AUSelector` pick
the AUs that predict neuroticism (simulated annealing, with a Pareto front of
cross-validated accuracy against the number of AUs), and describe the
selected AUs in words with :class:`~skpersona.au.AUDescriber`.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline

from skpersona.au import AUDescriber, AUSelector, AUStatistics, KeyframeWindows
from skpersona.datasets import make_interviews

data = make_interviews(n_samples=150, n_frames=120, random_state=0)
videos = data.data["video"]
y = data.target["neuroticism"].to_numpy()

# %%
# Keyframe windows, statistics and AU selection in one pipeline.
au_features = make_pipeline(
    KeyframeWindows(n_keyframes=4, half_window=7),
    AUSelector(estimator=RidgeCV(), statistics=AUStatistics(), scoring="mean_accuracy",
               n_iter=60, random_state=0),
)
au_features.fit(videos, y)
selector = au_features[-1]
print("Selected AUs:", selector.selected_aus_)
# ``score``: mean over the search folds (optimistic: the best of many subsets on the
# same folds); ``holdout_score``: on the 20% of videos the search never saw.
print(selector.pareto_front_[["n_aus", "score", "holdout_score"]])
print(f"selected subset: search score {selector.search_score_:.3f}, "
      f"held-out score {selector.selected_score_:.3f}")

# %%
# The Pareto front (each point a subset no other subset beats on both counts)
# and the activation rate of each selected AU across the videos.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
history = selector.history_
left.scatter(history["n_aus"], history["score"], s=12, color="0.7", label="evaluated")
front = selector.pareto_front_
left.plot(front["n_aus"], front["score"], "o-", color="C3", label="Pareto front (search)")
left.plot(front["n_aus"], front["holdout_score"], "s--", color="C0", label="front, held out")
left.set_xlabel("number of AUs")
left.set_ylabel("mean accuracy")
left.legend()

stats = AUStatistics(statistics=["active_rate"], co_activations=None)
rates = stats.fit_transform(videos)
order = np.argsort(y)
columns = [stats.aus_.index(a) for a in selector.selected_aus_]
image = right.imshow(rates[order][:, columns].T, aspect="auto", cmap="viridis")
right.set_yticks(range(len(columns)), selector.selected_aus_)
right.set_xlabel("videos, by increasing neuroticism")
fig.colorbar(image, ax=right, label="share of frames active")
fig.tight_layout()

# %%
# Words for a text model: the same AUs, described deterministically.
describer = AUDescriber(aus=selector.selected_aus_, detail="medium")
for text in describer.fit_transform(videos[:2])[:, 0]:
    print(text)
