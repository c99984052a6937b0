"""Data and fitted models shared by the crl tests (fitted once per test process; never modify them in a test)."""

import pytest

from skpersona.crl import MultimodalCRL
from skpersona.datasets import make_multimodal_causal

from ._settings import FAST, PLAIN


@pytest.fixture(scope="session")
def data():
    return make_multimodal_causal(n_samples=240, n_features=6, random_state=0)


@pytest.fixture(scope="session")
def fitted(data):
    return MultimodalCRL(**FAST).fit(data.data)


@pytest.fixture(scope="session")
def plain(data):
    return MultimodalCRL(**PLAIN).fit(data.data)
