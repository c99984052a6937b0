"""causal-learn's searches (``pc``, ``fci``) on skpersona's tests, by name."""

import json

from ._test import ALIASES, METHODS
from ._tester import IndependenceTester

_REGISTERED = {}


def register_causallearn(method="fisherz"):
    """Register a skpersona test with causal-learn; returns the name to pass.

    causal-learn's ``pc``, ``fci`` and friends take the test as a name and build
    it from the data (``CIT(data, name, **kwargs)``); this registers a
    :class:`IndependenceTester` under ``"skpersona_<method>"`` (causal-learn >=
    0.1.4.2), so the search runs on skpersona's tests with their encoding, checks
    and caches. Keyword arguments given to the search after the test name reach
    the tester (``random_state=0``, ``max_categories=5``, ...).

    Parameters
    ----------
    method : str, default="fisherz"
        Any method of :func:`independence_test`.

    Returns
    -------
    str
        The name to give causal-learn, e.g. ``pc(data, 0.05, name)``.

    Examples
    --------
    >>> import numpy as np
    >>> from causallearn.search.ConstraintBased.PC import pc
    >>> from skpersona.independence import register_causallearn
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500)
    >>> data = np.column_stack([a, a + rng.normal(size=500), rng.normal(size=500)])
    >>> cg = pc(data, 0.05, register_causallearn("fisherz"), show_progress=False)
    >>> int(cg.G.graph[0, 1] != 0), int(cg.G.graph[0, 2] != 0)
    (1, 0)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}.")
    name = f"skpersona_{ALIASES.get(method, method)}"
    if name in _REGISTERED:
        return name
    try:
        from causallearn.utils.cit import CIT_Base, register_ci_test
    except ImportError as exc:  # pragma: no cover - causal-learn is a dependency
        raise ImportError(
            "register_causallearn needs causal-learn >= 0.1.4.2 (register_ci_test)."
        ) from exc
    test_method = ALIASES.get(method, method)

    class _CausalLearnTest(CIT_Base):
        def __init__(self, data, cache_path=None, **kwargs):
            super().__init__(data, cache_path=cache_path)
            self.check_cache_method_consistent(name, json.dumps(kwargs, sort_keys=True, default=str))
            self._tester = IndependenceTester(data, test_method, **kwargs)

        def __deepcopy__(self, memo):
            return self  # see IndependenceTester.__deepcopy__

        def __call__(self, X, Y, condition_set=None):
            Xs, Ys, S, cache_key = self.get_formatted_XYZ_and_cachekey(X, Y, condition_set)
            if cache_key in self.pvalue_cache:
                return self.pvalue_cache[cache_key]
            p = self._tester(Xs if len(Xs) > 1 else Xs[0], Ys if len(Ys) > 1 else Ys[0], S)
            self.pvalue_cache[cache_key] = p
            return p

    _CausalLearnTest.__name__ = _CausalLearnTest.__qualname__ = f"SkpersonaCIT_{test_method}"
    register_ci_test(name, _CausalLearnTest)
    _REGISTERED[name] = _CausalLearnTest
    return name
