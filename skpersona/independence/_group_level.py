"""Group-level tests from one aggregation: a tester's columns averaged once per group.

A screen over many pairs with ``groups`` tests each pair on one row per group. Averaging
every column once and testing through a tester over that group-level table lets the
tester's kept kernels (and their eigenvalues) serve every pair a variable appears in:
one kernel per variable rather than two per pair.
"""

from ._encoding import check_blocks
from ._groups import aggregate_block


def aggregate_columns(frame, columns, codes, n_groups):
    """Each column of ``frame`` averaged per group: ``(blocks, parts, varying)``.

    ``blocks`` are the group-level columns, in order; ``parts[i]`` the positions of
    column ``i``'s group-level columns among them (None where aggregating it fails, so
    that :func:`independence_test` raises its own error), ``varying[i]`` whether column
    ``i`` varied within a group.
    """
    blocks, parts, varying, width = [], {}, {}, 0
    for i, name in enumerate(columns):
        try:
            check_blocks({"x": frame[[name]]})
            block, varied = aggregate_block(frame[[name]], codes, n_groups)
        except (TypeError, ValueError):
            parts[i] = None
            continue
        blocks.append(block)
        parts[i] = tuple(range(width, width + block.shape[1]))
        varying[i] = bool(varied)
        width += block.shape[1]
    return blocks, parts, varying


def group_level_test(tester, parts, varying, xs, ys, zs):
    """The test of columns ``xs``, ``ys`` given ``zs`` on the group-level ``tester``.

    None for a case :func:`independence_test` words its own refusal of: no group-level
    table, a column that did not aggregate, conditioning on a column that varied within
    a group (a group mean), or a test the group-level tester refuses.
    """
    if tester is None or any(parts[i] is None for i in xs + ys + zs):
        return None
    if any(varying[i] for i in zs):
        return None
    inner = [tuple(j for i in idx for j in parts[i]) for idx in (xs, ys, zs)]
    try:
        return tester.test(*(list(idx) for idx in inner[:2]), list(inner[2]) or None)
    except (TypeError, ValueError):
        return None

