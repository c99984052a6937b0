"""Common-check instances of the crl area: small, fast networks."""

from skpersona.crl import BetaVAE, MultimodalCRL

_FAST = dict(hidden_size=8, n_hidden_layers=1, max_epochs=2, batch_size=32, random_state=0)

INSTANCES = [
    MultimodalCRL(latent_dim=1, shared_dim=1, n_flow_layers=1, **_FAST),
    BetaVAE(n_components=2, **_FAST),
]

EXPECTED_FAILED_CHECKS = {}
