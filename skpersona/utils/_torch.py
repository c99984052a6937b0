"""Torch settings scoped to a block."""

import contextlib


@contextlib.contextmanager
def torch_threads(n_threads):
    """Use ``n_threads`` torch intra-op threads inside the block, then restore them.

    None leaves torch's setting alone.
    """
    if n_threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_stored_weights(make_module, weights, owner):
    """Refuse stored module arguments that do not match the stored weights.

    A persisted network is its constructor arguments plus its weights; a file could
    pair tiny weights with arguments that build a huge network (``hidden_size=40000``
    is gigabytes). The module is first built on torch's ``meta`` device, which
    allocates nothing, and its parameter shapes must equal the stored arrays' shapes,
    so what is then built is no larger than what the file holds.

    Parameters
    ----------
    make_module : callable
        Builds the module from the stored arguments.
    weights : dict of str to array-like
        The stored ``state_dict``.
    owner : str
        Who is loading, for the message.
    """
    import numpy as np
    import torch

    try:
        with torch.device("meta"):
            module = make_module()
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    except Exception as exc:  # arguments a module cannot even be described with
        raise ValueError(f"{owner}: the stored network's arguments are invalid "
                         f"({type(exc).__name__}: {exc!s:.200}).") from exc
    stored = {str(k): tuple(np.shape(v)) for k, v in dict(weights).items()}
    if expected != stored:
        wrong = sorted(k for k in expected.keys() | stored.keys()
                       if expected.get(k) != stored.get(k))
        detail = ", ".join(f"{k}: arguments say {expected.get(k)}, weights {stored.get(k)}"
                           for k in wrong[:3])
        raise ValueError(f"{owner}: the stored network's arguments do not match its weights "
                         f"({detail}); the file is damaged or crafted, and is not loaded.")
