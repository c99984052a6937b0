"""ArrayCache: a corrupt entry is a miss (warned, removed), never a crash or a big allocation."""

import io
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skpersona.utils import ArrayCache

ARRAYS = {"values": np.arange(12.0).reshape(3, 4), "name": np.asarray("AU01 ✓")}


def _fresh(tmp_path_factory):
    cache = ArrayCache(tmp_path_factory.mktemp("cache"))
    cache.save("ab12", ARRAYS)
    return cache, cache._path("ab12")


def _same(loaded):
    return loaded.keys() == ARRAYS.keys() and all(
        np.array_equal(loaded[k], ARRAYS[k]) for k in ARRAYS)


def _load_quietly(cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = cache.load("ab12")
    return loaded, [str(w.message) for w in caught if w.category is RuntimeWarning]


@pytest.mark.parametrize("damage", ["empty", "truncated", "crc"])
def test_corrupt_entry_is_a_warned_miss_and_is_removed(tmp_path, damage):
    cache = ArrayCache(tmp_path)
    cache.save("ab12", ARRAYS)
    path = cache._path("ab12")
    raw = bytearray(path.read_bytes())
    if damage == "empty":
        raw = b""
    elif damage == "truncated":
        raw = raw[: len(raw) // 2]
    else:  # one byte of array data flipped: only the zip CRC-32 can tell
        raw[raw.index(np.float64(5.0).tobytes())] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.warns(RuntimeWarning, match=f"cache entry {path} is unreadable"):
        assert cache.load("ab12") is None
    assert not path.exists()  # removed: the next save writes a good entry
    cache.save("ab12", ARRAYS)
    assert _same(cache.load("ab12"))


def test_entry_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    cache = ArrayCache(tmp_path)
    path = cache._path("ab12")
    path.parent.mkdir(parents=True)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path, "w") as archive:  # 8 TB claimed by a 100-byte member
        archive.writestr("values.npy", header.getvalue() + b"\0" * 16)
    with pytest.warns(RuntimeWarning, match="does not match its stored size"):
        assert cache.load("ab12") is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_truncation_or_byte_flip_is_either_the_entry_or_a_miss(tmp_path_factory, data):
    cache, path = _fresh(tmp_path_factory)
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 4), label="n_flips")):
            at = data.draw(st.integers(0, len(raw) - 1), label="at")
            raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    path.write_bytes(bytes(raw))
    loaded, messages = _load_quietly(cache)  # never raises
    if loaded is None:
        assert messages and str(path) in messages[0] and not path.exists()
    else:  # a flip in bytes the reader does not use (e.g. zip metadata): the data is intact
        assert _same(loaded)


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path):
    import os
    import time

    cache = ArrayCache(tmp_path)
    folder = cache._path("ab12").parent
    folder.mkdir(parents=True)
    stale, live = folder / "tmpk9x2a.tmp", folder / "tmplive1.tmp"  # kill -9, and a writer now
    for path in (stale, live):
        path.write_bytes(b"half an entry")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    cache.save("ab12", ARRAYS)
    assert not stale.exists() and live.exists()
    assert _same(cache.load("ab12"))


@pytest.mark.parametrize("key", ["../../x", "../x", "ab/../../x", "/tmp/x", "a/b", "..", "",
                                 "ab\\..\\..\\x", "x" * 201, 7])
def test_a_key_cannot_name_a_file_outside_the_folder(tmp_path, key):
    cache = ArrayCache(tmp_path / "outer" / "inner" / "cache")
    with pytest.raises(ValueError, match="is not a key"):
        cache.save(key, ARRAYS)
    with pytest.raises(ValueError, match="is not a key"):
        cache.load(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    cache.save("ab12-x_Y", ARRAYS)  # letters, digits, '_' and '-' are keys
    assert _same(cache.load("ab12-x_Y"))
