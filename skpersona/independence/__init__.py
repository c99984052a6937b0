"""Independence tests, score functions, scorers and the Level I dependency screen.

* :func:`independence_test` -- KCI, RCIT, FastKCI, Fisher-z, HSIC (gamma,
  permutation, random Fourier features), chi-square and G-square, conditional or
  not, with ``method="auto"``.
* Score functions for :class:`~sklearn.feature_selection.SelectKBest`,
  :class:`~sklearn.feature_selection.SelectFdr` and friends: :func:`kci_score`,
  :func:`rcit_score`, :func:`hsic_score`, :func:`fisherz_score`,
  :func:`chi2_independence_score`, :func:`gsq_independence_score`.
* :func:`make_independence_scorer` -- scorers for ``cross_validate`` and
  ``GridSearchCV`` (bias audits through metadata routing, residual independence).
* :class:`IndependenceTester` -- data given once, tests called by column index in
  loops (PC, FCI) with cached correlation matrix and encodings;
  :func:`register_causallearn` plugs it into causal-learn's ``pc`` and ``fci``.
* :class:`DependencyScreen` -- every pair of a mixed table through several tests,
  p-values combined per pair (:func:`cauchy_combination`) and corrected once, agreement, dependency graph, plot, and a prior mask
  for the CRL estimator; :func:`aggregate_ratings` for PersonaX ratings.
"""

from ._causallearn import register_causallearn
from ._memory import MemoryLimitError
from ._multitest import adjust_pvalues, cauchy_combination
from ._ratings import aggregate_ratings
from ._score_functions import (
    chi2_independence_score,
    fisherz_score,
    gsq_independence_score,
    hsic_score,
    independence_score,
    kci_score,
    rcit_score,
)
from ._scorer import IndependenceScorer, make_independence_scorer
from ._screen import DependencyScreen
from ._test import METHODS, IndependenceTestResult, independence_test
from ._tester import IndependenceTester

__all__ = [
    "METHODS",
    "DependencyScreen",
    "IndependenceScorer",
    "IndependenceTestResult",
    "MemoryLimitError",
    "IndependenceTester",
    "adjust_pvalues",
    "aggregate_ratings",
    "cauchy_combination",
    "chi2_independence_score",
    "fisherz_score",
    "gsq_independence_score",
    "hsic_score",
    "independence_score",
    "independence_test",
    "kci_score",
    "make_independence_scorer",
    "rcit_score",
    "register_causallearn",
]
