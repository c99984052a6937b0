"""
Which personality impressions depend on gender and on nonverbal cues?
=====================================================================

A PersonaX-style Level I screen of the YouTube Personality corpus (Biel and
Gatica-Perez, 404 conversational vlogs): each Big Five impression score is tested
against the vlogger's gender and 25 nonverbal cues (prosody, speaking activity,
visual motion) with three kernel tests side by side (KCI, RCIT, HSIC). The
p-values are corrected with Benjamini-Hochberg per test, and a pair counts as
dependent when at least half of the tests agree.

The screen then becomes a prior mask for the causal representation learning step,
and a bias audit checks whether a model that predicts extraversion from the cues
passes gender information through (a scorer routed the gender by metadata).
"""

# %%
# Load the data and build the table to screen
# -------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skpersona.datasets import load_youtube_personality
from skpersona.independence import DependencyScreen, make_independence_scorer

yt = load_youtube_personality()
traits = list(yt.target.columns)
cues = list(yt.cue_names)
table = yt.target.join(yt.data[["gender", *cues]])
print(table.shape)
print(table["gender"].value_counts())

# %%
# Screen every pair of variables
# ------------------------------
# 31 variables, 465 pairs, three tests each. Gender is discrete and the other
# variables continuous, so each pair goes through the kernel tests (gender
# one-hot encoded).
screen = DependencyScreen(correction="bh", random_state=0).fit(table)
print(screen.pvalues_.groupby("method").status.value_counts())

gender_rows = screen.pvalues_[(screen.pvalues_.y == "gender") & screen.pvalues_.x.isin(traits)]
print(
    gender_rows.pivot(index="x", columns="method", values="pvalue_adjusted").round(4)
)
agreement = screen.agreement_
print(agreement[(agreement.y == "gender") & agreement.x.isin(traits)][["x", "decision", "agreement"]])

# %%
# Traits and their dependent cues
# -------------------------------
edges = screen.agreement_[screen.agreement_.decision == "dependent"]
for trait in traits:
    found = [b if a == trait else a for a, b in zip(edges.x, edges.y) if trait in (a, b)]
    print(f"{trait:20s} {len(found):2d} dependent: {', '.join(found[:8])}")
print(f"mean agreement between tests: {screen.agreement_.agreement.mean():.2f}")

# %%
# The heatmap: traits against gender and cues
# -------------------------------------------
fig, ax = plt.subplots(figsize=(12, 4.5))
screen.plot(ax=ax, rows=traits, columns=["gender", *cues])
ax.set_title("YouTube Personality: -log10 BH-adjusted combined p (KCI, RCIT, HSIC); * = edge")
fig.tight_layout()

# %%
# A prior mask for the CRL step
# -----------------------------
# Rows are parents, columns children: 1 allows a latent edge between two blocks.
mask = screen.to_prior_mask(
    {
        "personality": traits,
        "prosody": [c for c in cues if "pitch" in c or "energy" in c or "apeak" in c],
        "speaking": ["time.speaking", "voice.rate", "num.turns", "avg.len.seg"],
        "motion": [c for c in cues if c.startswith("hogv")],
        "demographics": ["gender"],
    }
)
print(mask)

# %%
# A bias audit: do extraversion predictions carry gender?
# -------------------------------------------------------
# The scorer returns the p-value of a KCI test between the held-out predictions and
# the routed ``gender``: greater is better (no detectable dependence).
rows = table.dropna(subset=["extraversion"])
X, y, gender = rows[cues], rows["extraversion"], rows["gender"]
with sklearn.config_context(enable_metadata_routing=True):
    audit = make_independence_scorer("kci", metadata="gender").set_score_request(gender=True)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 3, 12)))
    result = cross_validate(
        model,
        X,
        y,
        cv=KFold(5, shuffle=True, random_state=0),
        scoring={"r2": "r2", "gender_independence_p": audit},
        params={"gender": gender},
    )
print(pd.DataFrame(result)[["test_r2", "test_gender_independence_p"]].round(3))
