"""Drawing a latent causal graph (a weighted adjacency) with matplotlib."""

import numpy as np
import pandas as pd

__all__ = ["plot_latent_graph"]


def plot_latent_graph(adjacency, *, threshold=0.0, ax=None, title=None, node_color="#cfe2f3"):
    """Draw a directed latent graph, arrows weighted by the adjacency's magnitude.

    Latents are placed in columns by modality (the part of the name between
    ``z`` and ``_``), in order, so that the blocks of :class:`MultimodalCRL`
    read left to right; an edge's width and label show its weight.

    Parameters
    ----------
    adjacency : DataFrame of shape (n, n)
        Weighted adjacency, rows parents and columns children (e.g.
        ``MultimodalCRL().fit(X).adjacency_`` or a true 0/1 graph).
    threshold : float, default=0.0
        Edges with ``abs(weight) <= threshold`` are not drawn.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.
    title : str or None, default=None
        Axes title.
    node_color : str, default="#cfe2f3"
        Fill colour of the nodes.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skpersona.crl import plot_latent_graph
    >>> names = ["z1_1", "z1_2", "z2_1"]
    >>> graph = pd.DataFrame([[0, 1, 1], [0, 0, 0], [0, 0, 0]], index=names, columns=names)
    >>> ax = plot_latent_graph(graph)
    """
    import matplotlib.pyplot as plt

    if not isinstance(adjacency, pd.DataFrame):
        adjacency = pd.DataFrame(np.asarray(adjacency, dtype=float))
        adjacency.index = adjacency.columns = [f"z{i + 1}" for i in range(len(adjacency))]
    names = [str(n) for n in adjacency.columns]
    weights = adjacency.to_numpy(dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    groups = [n.split("_", 1)[0] if "_" in n else n for n in names]
    order = list(dict.fromkeys(groups))
    position = {}
    for col, group in enumerate(order):
        members = [n for n, g in zip(names, groups) if g == group]
        for row, name in enumerate(members):
            position[name] = (col, -row - 0.5 * (col % 2))
    scale = max(np.abs(weights).max(), 1e-12)
    for i, parent in enumerate(names):
        for j, child in enumerate(names):
            w = weights[i, j]
            if i == j or abs(w) <= threshold:
                continue
            (x0, y0), (x1, y1) = position[parent], position[child]
            ax.annotate(
                "",
                xy=(x1, y1),
                xytext=(x0, y0),
                arrowprops=dict(
                    arrowstyle="-|>",
                    lw=0.8 + 2.5 * abs(w) / scale,
                    color="#c0392b" if w < 0 else "#1f4e79",
                    shrinkA=18,
                    shrinkB=18,
                    connectionstyle="arc3,rad=0.15",
                ),
            )
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, f"{w:.2g}", fontsize=7, ha="center")
    for name, (x, y) in position.items():
        ax.scatter([x], [y], s=1500, color=node_color, edgecolors="k", zorder=3)
        ax.text(x, y, name, ha="center", va="center", fontsize=7, zorder=4)
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
