"""FusionRegressor: multimodal trait regression with a skorch-trained network."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._base import _BaseFusion

_LOSSES = {"squared_error": nn.MSELoss, "absolute_error": nn.L1Loss, "huber": nn.HuberLoss}


class FusionRegressor(RegressorMixin, _BaseFusion):
    """Multimodal (e.g. AU + text) trait regressor trained with skorch.

    A plain scikit-learn regressor that, in :meth:`fit`, standardises the features
    and the targets, builds a small fusion network (:class:`FusionModule`) and
    trains it with a skorch ``NeuralNet`` (kept as ``net_``) in float32 on ``device``.
    Each modality's columns are found from prefixed feature names (``au__...``,
    ``text__...``, as a ``ColumnTransformer`` names them) or given explicitly.

    Parameters
    ----------
    fusion : {"early", "gated", "attention", "late"}, default="gated"
        How modalities are combined. ``"early"``: concatenation, one MLP.
        ``"gated"``: one encoder per modality, a learned per-sample softmax gate.
        ``"attention"``: cross-modal multi-head self-attention over modality tokens,
        then attention pooling. ``"late"``: one encoder and head per modality, the
        heads' predictions averaged with learned weights.
    modalities : dict or None, default=None
        ``{name: columns}`` where columns is a name prefix (``"au__"``), a slice or a
        list of column indices; columns in no modality are ignored. None: split the
        columns by the prefix before ``"__"`` of the feature names when X is a
        DataFrame whose every column is prefixed; otherwise (an ndarray, or
        unprefixed names) all columns form a single modality named ``"all"``.
        Inside a ``Pipeline``, give the ``ColumnTransformer``
        ``.set_output(transform="pandas")`` so that its prefixed names reach this
        estimator (a plain ColumnTransformer hands over an unnamed ndarray).
    hidden_size : int, default=64
        Width of the encoders (and of the attention).
    dropout : float, default=0.1
        Dropout after each encoder.
    modality_dropout : float, default=0.1
        Probability of dropping a whole modality of a training sample (at least one
        is kept), which makes the model robust to a missing or noisy modality.
    n_heads : int, default=4
        Attention heads, for ``fusion="attention"``. Any ``hidden_size`` works: when
        ``n_heads`` does not divide it, the width is rounded up to the next multiple
        of ``n_heads`` (``hidden_size=30, n_heads=4`` trains 32-wide layers), so a
        search may draw both parameters independently.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    max_epochs : int, default=100
        Maximum number of training epochs.
    batch_size : int, default=64
        Mini-batch size.
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training data and stop when the
        validation loss has not improved for ``patience`` epochs, restoring the best
        weights. ``"auto"``: on when there are at least 200 training samples.
    validation_fraction : float, default=0.1
        Share of the samples held out for early stopping (by group when ``groups``
        is passed to :meth:`fit`, or when scikit-learn's cross-validation splits the
        folds by group without passing them on: see the user guide's grouped
        cross-validation).
    patience : int, default=10
        Epochs without improvement before stopping.
    scale_features : bool, default=True
        Standardise the features before the network (recommended: AU statistics and
        embeddings live on different scales).
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        Training loss, on the standardised targets.
    scale_target : bool, default=True
        Standardise the targets for training; predictions are returned in the
        original scale.
    torch_threads : int or None, default=1
        Torch intra-op threads during :meth:`fit` and prediction, set for the call
        and restored afterwards (torch's global setting is left as it was). Small
        fusion networks train fastest on one thread, and several threads on a
        shared or busy CPU (parallel grid search) slow training many times over.
        None uses torch's current setting.
    device : str or torch.device, default="cpu"
        Where the network trains, as in skorch (``"cuda"``, ``"cuda:1"``, ``"mps"``).
        Prediction and :meth:`modality_weights` run on the CPU in float64 whatever
        the training device, so a fitted model loads and predicts anywhere.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, shuffling, dropout and the validation split;
        an int makes training reproducible on the CPU. Torch's global generator is
        left as it was.
    verbose : int, default=0
        Print skorch's epoch log and a progress bar.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network (``net_.module_`` is the torch module). After unpickling
        or a skops round trip it holds the trained weights but no history.
    modality_names_ : list of str
        The modalities, in column order.
    modality_columns_ : dict of str -> ndarray
        Column indices of each modality.
    modality_importance_ : pandas.Series
        Mean of :meth:`modality_weights` over the training samples.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_loss_curve_ : list of float or None
        Validation loss per epoch (None without early stopping).
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        Epoch whose weights were kept.
    n_outputs_ : int
        Number of targets.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names seen in fit, when X was a DataFrame.

    See Also
    --------
    FusionClassifier : the same networks for binarised traits.

    Notes
    -----
    Persistence: ``pickle`` works; with skops, ``skops.io.load`` needs the trusted
    types ``["skpersona.fusion._regressor.FusionRegressor"]`` (the network is
    stored as numpy arrays, the scalers are scikit-learn's own, trusted by default);
    check with ``skops.io.get_untrusted_types``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.fusion import FusionRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.normal(size=(60, 4)),
    ...                  columns=["au__a", "au__b", "text__0", "text__1"])
    >>> y = X["au__a"] + X["text__0"]
    >>> reg = FusionRegressor(max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (60,)
    >>> reg.modality_weights(X).columns.tolist()
    ['au', 'text']
    """

    _parameter_constraints = {
        **_BaseFusion._parameter_constraints,
        "loss": [StrOptions(set(_LOSSES))],
        "scale_target": ["boolean"],
    }

    def __init__(
        self,
        fusion="gated",
        *,
        modalities=None,
        hidden_size=64,
        dropout=0.1,
        modality_dropout=0.1,
        n_heads=4,
        lr=1e-3,
        weight_decay=1e-4,
        max_epochs=100,
        batch_size=64,
        early_stopping="auto",
        validation_fraction=0.1,
        patience=10,
        scale_features=True,
        loss="squared_error",
        scale_target=True,
        torch_threads=1,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            fusion,
            modalities=modalities,
            hidden_size=hidden_size,
            dropout=dropout,
            modality_dropout=modality_dropout,
            n_heads=n_heads,
            lr=lr,
            weight_decay=weight_decay,
            max_epochs=max_epochs,
            batch_size=batch_size,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            scale_features=scale_features,
            torch_threads=torch_threads,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.loss = loss
        self.scale_target = scale_target

    def _criterion(self):
        return _LOSSES[self.loss]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, sample_weight=None):
        """Fit the fusion network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Fused features; a DataFrame with prefixed column names tells the
            modalities apart.
        y : array-like of shape (n_samples,) or (n_samples, n_traits)
            Trait scores.
        groups : array-like of shape (n_samples,) or None, default=None
            Group labels (e.g. source video ids): the early-stopping validation split
            keeps each group on one side. Inside ``cross_validate`` or a search, the
            fold's groups arrive here by metadata routing
            (``sklearn.set_config(enable_metadata_routing=True)`` and
            ``params={"groups": groups}``; fit requests them by default); without
            routing pass ``params={"groups": groups}`` as well as ``groups=groups``.
            None: an ungrouped split.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative per-sample weights: the training loss (and the validation
            loss of early stopping) is the weighted mean of the samples' losses, and
            the feature and target standardisation use the weighted mean and
            variance. An integer weight acts like repeating the row.

        Returns
        -------
        self : FusionRegressor
        """
        _, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=[np.float64, np.float32]
        )
        sample_weight = self._check_weights(sample_weight, X)
        X = self._prepare_X(X, reset=True, sample_weight=sample_weight)
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        self.n_outputs_ = Y.shape[1]
        self._y_scaler = StandardScaler(with_mean=self.scale_target, with_std=self.scale_target)
        Y = self._y_scaler.fit_transform(Y, sample_weight=sample_weight).astype(np.float32)
        if groups is not None:
            groups = np.asarray(groups)
        return self._fit_net(X, Y, groups, sample_weight=sample_weight)

    def predict(self, X):
        """Predict trait scores in the scale of the training targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_traits)
        """
        check_is_fitted(self)
        out, _ = self._forward(self._prepare_X(X, reset=False))
        pred = self._y_scaler.inverse_transform(out.astype(np.float64))
        return pred.ravel() if self._y_ndim == 1 else pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
