"""Run for the whole suite (tests and the doctests in skpersona/): the default caches
of skpersona (TextEmbedder's embeddings) go to a temporary folder, never to the
user's ~/.cache. Worker processes (joblib, Dask, Ray) inherit the variable."""

import atexit
import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="skpersona-test-cache-")
os.environ["SKPERSONA_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
