"""Fast instances of every public estimator of skpersona.au for the common checks.

AUExtractor, KeyframeWindows, AUStatistics and AUDescriber take per-video
objects (paths or frame tables), not 2-D arrays; their tags say so
(``input_tags.two_d_array = False``), so scikit-learn runs only the API checks
that need no array input on them. Their clone, pickle, Pipeline,
ColumnTransformer and grid-search behaviour is tested by hand in tests/au/.
"""

from skpersona.au import AUDescriber, AUExtractor, AUSelector, AUStatistics, KeyframeWindows

INSTANCES = [
    AUExtractor(),
    AUExtractor(backend="mediapipe"),
    AUStatistics(),
    KeyframeWindows(),
    AUDescriber(),
    AUSelector(n_iter=5, random_state=0),
]

EXPECTED_FAILED_CHECKS = {}
