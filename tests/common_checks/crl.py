"""Common-check instances of the crl area: small, fast networks."""

from skpersona.crl import BetaVAE, MultimodalCRL

_FAST = dict(hidden_size=8, n_hidden_layers=1, max_epochs=2, batch_size=32, random_state=0)

INSTANCES = [
    # one warm-up schedule: the checks test the API, the schedules are tested in tests/crl
    MultimodalCRL(latent_dim=1, shared_dim=1, n_flow_layers=1, shared_warmup=0, **_FAST),
    BetaVAE(n_components=2, **_FAST),
]

EXPECTED_FAILED_CHECKS = {}
