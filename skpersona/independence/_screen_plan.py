"""The screen's plan: which tests each pair gets, on which rows, checked before any runs."""

from ._memory import check_test_memory
from ._test import AUTO_KCI_MAX_SAMPLES, METHODS, auto_subsample


def _auto_methods(discrete, n_samples, conditional):
    if discrete:
        return ("chi2", "gsq")
    if conditional:  # above 1,000 rows on a subsample (see _test.auto_subsample)
        return ("kci", "rcit")
    if n_samples <= AUTO_KCI_MAX_SAMPLES:
        return ("kci", "rcit", "hsic")
    # Above, exact kernel tests cost O(n^2)-O(n^3): random-feature tests, two implementations.
    return ("kci_rff", "rcit", "hsic_rff")


def check_methods(methods):
    """Refuse an empty list or an unknown test name in ``methods`` (the screen's param)."""
    if isinstance(methods, dict):
        listed = [m for v in methods.values() for m in (v or [])]
    elif methods == "auto":
        listed = []
    else:
        listed = list(methods)
        if not listed:
            raise ValueError("methods must name at least one test.")
    bad = [m for m in listed if m not in METHODS]
    if bad:
        raise ValueError(f"Unknown test(s) {bad}; choose among {list(METHODS)}.")


def methods_for(methods, discrete, n_samples, conditional):
    """A pair's tests and the rows they run on (None: every row)."""
    auto = _auto_methods(discrete, n_samples, conditional), (
        None if discrete else auto_subsample("auto", "kci", n_samples, conditional)
    )
    if methods == "auto":
        return auto
    if isinstance(methods, dict):
        key = "discrete" if discrete else "continuous"
        unknown_keys = set(methods) - {"discrete", "continuous"}
        if unknown_keys:
            raise ValueError(
                f"methods dict keys must be 'continuous' and/or 'discrete', got "
                f"{sorted(unknown_keys)}."
            )
        chosen = methods.get(key)
        if chosen is None:
            return auto
        return tuple(dict.fromkeys(chosen)), None
    return tuple(dict.fromkeys(methods)), None


def plan_pairs(methods, pairs, cond_sets, discrete, n_samples):
    """``(a, b, cond, tests)`` for every pair and conditioning set, and their subsamples.

    A pair is discrete when its two variables and its conditioning set all are
    (``discrete``: column -> bool).
    """
    plan, subsamples = [], []
    for a, b in pairs:
        for cond in cond_sets:
            is_discrete = all(discrete[c] for c in (a, b, *cond))
            tests, sub = methods_for(methods, is_discrete, n_samples, bool(cond))
            plan.append((a, b, cond, tests))
            subsamples.append(sub)
    return plan, subsamples


def check_plan_memory(plan, subsamples, n_samples, options):
    """Refuse up front (nothing run, nothing allocated) a test over its memory limit."""
    planned = {
        (m, bool(cond), min(n_samples, sub or n_samples))
        for (_, _, cond, methods), sub in zip(plan, subsamples)
        for m in methods
    }
    for method, conditional, n in sorted(planned):  # every test has a limit
        given = options.get(method, {})
        check_test_memory(method, n, conditional, given.get("max_memory"),
                          n_features=given.get("n_features", 100), options=given)
