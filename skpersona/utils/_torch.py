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
