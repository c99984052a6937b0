"""Fast settings shared by the MultimodalCRL tests (small nets, a few epochs)."""

FAST = dict(hidden_size=16, n_hidden_layers=1, max_epochs=4, batch_size=64, random_state=0)
# the SCM as the first fit leaves it: no alignment, DAG search and refit
PLAIN = {**FAST, "refine_graph": False}
