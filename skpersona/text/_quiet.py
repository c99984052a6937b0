"""Hiding transformers' loading output ("Loading weights: 100%") for one call."""

import contextlib


@contextlib.contextmanager
def quiet_transformers(enabled=True):
    """Switch transformers' and huggingface_hub's progress bars and info logs off
    inside the block, and restore the caller's settings after it.

    transformers draws a "Loading weights" bar for every model it loads, in every
    process (each joblib or Dask worker), whatever the caller's ``verbose``; its
    switches are process-global, so they are set back as they were on exit.

    Parameters
    ----------
    enabled : bool, default=True
        False makes the block a no-op (the caller asked for output).

    Examples
    --------
    >>> from transformers.utils import logging as hf_logging
    >>> from skpersona.text._quiet import quiet_transformers
    >>> before = hf_logging.is_progress_bar_enabled()
    >>> with quiet_transformers():
    ...     hf_logging.is_progress_bar_enabled()
    False
    >>> hf_logging.is_progress_bar_enabled() == before
    True
    """
    if not enabled:
        yield
        return
    from huggingface_hub.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )
    from transformers.utils import logging as hf_logging

    bars, hub_bars = hf_logging.is_progress_bar_enabled(), not are_progress_bars_disabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity(max(verbosity, hf_logging.WARNING))
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        # transformers' switch also flips huggingface_hub's: restore both, in order.
        (hf_logging.enable_progress_bar if bars else hf_logging.disable_progress_bar)()
        (enable_progress_bars if hub_bars else disable_progress_bars)()
