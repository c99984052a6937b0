"""BetaVAE: the baseline latent model, without modalities or causal structure."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ._base import _LatentModel, _Layout


class BetaVAE(_LatentModel):
    """beta-VAE baseline: one encoder and decoder over all columns, isotropic prior.

    Same interface as :class:`MultimodalCRL` (``fit``, ``transform`` with
    named latents ``z_<i>``, ``score`` as the held-out ELBO, skorch training
    with early stopping on a validation split), but no modality structure, no
    shared latent and no causal model: the loss per sample is
    ``a_recon * NLL + beta * KL(q(z | x) || N(0, I))``, where ``NLL`` is the
    Gaussian negative log-likelihood of the standardised columns with a
    learned noise level per column, summed over columns.

    Parameters
    ----------
    n_components : int, default=4
        Number of latents.
    beta : float, default=1.0
        Weight of the KL term (``a_ind`` of :class:`MultimodalCRL`); 1 is the
        plain VAE, above 1 presses the latents towards independence.
    a_recon : float, default=1.0
        Weight of the reconstruction negative log-likelihood.
    hidden_size : int, default=64
        Width of encoder and decoder.
    n_hidden_layers : int, default=2
        Hidden layers of encoder and decoder.
    n_flow_layers : int, default=0
        Affine coupling layers of an optional posterior flow.
    lr : float, default=3e-3
        Adam learning rate.
    batch_size : int, default=128
        Minibatch size.
    max_epochs : int, default=200
        Most epochs.
    patience : int or None, default=20
        Early-stopping patience on the validation loss; None trains ``max_epochs``.
    validation_fraction : float or None, default=0.2
        Share of the training data held out for early stopping.
    n_init : int, default=1
        Trainings from different initialisations; the one with the lowest
        validation loss (training loss without a validation split) is kept.
        Guards against a poor local optimum at ``n_init`` times the cost.
    n_threads : int or None, default=1
        torch intra-op threads while fitting and transforming (restored
        afterwards); small networks run fastest on one. None keeps torch's
        setting.
    n_score_samples : int, default=16
        Posterior draws per sample of the importance-weighted bound that
        :meth:`score` returns (1: the plain ELBO).
    random_state : int, RandomState instance or None, default=None
        Seeds torch, the split and shuffling.
    verbose : int, default=0
        skorch's per-epoch table when positive.

    Attributes
    ----------
    net_ : LatentNet
        The fitted skorch net.
    n_epochs_ : int
        Epochs trained (by the kept initialisation).
    selection_loss_ : float
        Best validation loss of the kept initialisation (training loss
        without a validation split).
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names (when X is a DataFrame with string names).

    See Also
    --------
    MultimodalCRL : the causal multimodal model.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.crl import BetaVAE
    >>> X = np.random.RandomState(0).normal(size=(100, 6))
    >>> BetaVAE(n_components=2, max_epochs=2, random_state=0).fit_transform(X).shape
    (100, 2)
    """

    _parameter_constraints = {
        **_LatentModel._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
    }
    _parameter_constraints.pop("a_ind")

    def __init__(
        self,
        n_components=4,
        *,
        beta=1.0,
        a_recon=1.0,
        hidden_size=64,
        n_hidden_layers=2,
        n_flow_layers=0,
        lr=3e-3,
        batch_size=128,
        max_epochs=200,
        patience=20,
        validation_fraction=0.2,
        n_init=1,
        n_threads=1,
        n_score_samples=16,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.beta = beta
        self.a_recon = a_recon
        self.hidden_size = hidden_size
        self.n_hidden_layers = n_hidden_layers
        self.n_flow_layers = n_flow_layers
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_init = n_init
        self.n_threads = n_threads
        self.n_score_samples = n_score_samples
        self.random_state = random_state
        self.verbose = verbose

    @property
    def a_ind(self):
        """Alias of ``beta`` used by the shared training code."""
        return self.beta

    def _layout(self, X, names):
        return _Layout([list(range(X.shape[1]))], [0], [self.n_components], 0, {None: None})

    def _latent_names(self):
        return [f"z_{i + 1}" for i in range(self.n_components)]
