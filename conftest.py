"""Run for the whole suite (tests and the doctests in skpersona/): the default caches
of skpersona (TextEmbedder's embeddings) go to a temporary folder, never to the
user's ~/.cache. Worker processes (joblib, Dask, Ray) inherit the variable.

One folder for the whole run: pytest-xdist's workers inherit the controller's
environment, so they reuse the folder it made (entries are keyed by content and
written atomically) and a text one worker embedded is not embedded again by the
other. Tests of the cache itself point SKPERSONA_CACHE_DIR at their own folder."""

import atexit
import os
import shutil
import tempfile

_MARK = "_SKPERSONA_TEST_RUN_CACHE"  # the folder this run made (not a user setting)
_CACHE = os.environ.get(_MARK)
if not _CACHE or os.environ.get("SKPERSONA_CACHE_DIR") != _CACHE or not os.path.isdir(_CACHE):
    _CACHE = tempfile.mkdtemp(prefix="skpersona-test-cache-")
    os.environ[_MARK] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)  # by the process that made it
os.environ["SKPERSONA_CACHE_DIR"] = _CACHE


# -- Threads: one pytest-xdist worker per core -------------------------------------------
# ``make test`` runs one worker per core (-n 2 on 2 cores). BLAS, OpenMP and torch start
# one thread per core in EACH worker: twice as many threads as cores, and spinning BLAS
# threads then make a 2,000 x 2,000 eigvalsh about 4x slower than one thread does (5-7 s
# against 1.2 s on the 2-core machine). A worker gets its share of the cores; its
# subprocesses and joblib / Dask / Ray workers inherit the variables. A value the user
# set is kept.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if "PYTEST_XDIST_WORKER" in os.environ and _WORKERS > 1:
    import sys

    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, str(_THREADS))
    if "numpy" in sys.modules:  # BLAS read the variables when loaded: limit it now
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))


# -- Order: the longest files first ----------------------------------------------------
# ``make test`` runs ``pytest -n 2 --dist loadfile --no-loadscope-reorder``: each file goes
# whole to one worker, in the order collected here. Starting the longest files first
# keeps one long file (the docs build, a slow real-data test) from running alone at the
# end while the other worker idles. A file's cost is estimated from its tests: a slow
# test counts its ``@pytest.mark.slow(seconds=...)`` (SLOW_SECONDS when not given), any
# other test FAST_SECONDS.
SLOW_SECONDS = 40.0
FAST_SECONDS = 0.5


def _estimated_seconds(item):
    mark = item.get_closest_marker("slow")
    if mark is None:
        return FAST_SECONDS
    return float(mark.kwargs.get("seconds", SLOW_SECONDS))


def pytest_collection_modifyitems(session, config, items):
    files = {}  # file -> its items, in collection order (dicts keep insertion order)
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    cost = {name: sum(map(_estimated_seconds, group)) for name, group in files.items()}
    order = sorted(files, key=lambda name: -cost[name])  # stable: ties keep their order
    items[:] = [item for name in order for item in files[name]]
