"""FusionModule's attention builds and runs for every hidden_size and n_heads."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skpersona.fusion import FusionModule
from skpersona.fusion._modules import attention_width


@settings(max_examples=25, deadline=None)
@given(hidden_size=st.integers(1, 300), n_heads=st.integers(1, 16),
       n_outputs=st.integers(1, 5))
def test_attention_width_is_the_next_multiple_of_the_heads(hidden_size, n_heads, n_outputs):
    width = attention_width(hidden_size, n_heads)
    assert width % n_heads == 0 and hidden_size <= width < hidden_size + n_heads
    module = FusionModule([[0, 1], [2]], n_outputs, fusion="attention",
                          hidden_size=hidden_size, n_heads=n_heads)
    assert module.width == width == module.attention.embed_dim
    out, weights = module.forward_with_weights(torch.randn(3, 3))
    assert out.shape == (3, n_outputs) and weights.shape == (3, 2)
    assert torch.isfinite(out).all()
    # Other fusions keep hidden_size exactly.
    assert FusionModule([[0], [1]], 1, fusion="gated", hidden_size=hidden_size,
                        n_heads=n_heads).width == hidden_size
