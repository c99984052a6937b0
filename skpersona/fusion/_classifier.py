"""FusionClassifier: multimodal classification (e.g. binarised traits) with skorch."""

import warnings

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._base import _BaseFusion


def _softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class FusionClassifier(ClassifierMixin, _BaseFusion):
    """Multimodal classifier (e.g. high/low traits) trained with skorch.

    The networks of :class:`FusionRegressor` with a classification head: a 1-D
    target (binary or multiclass) is trained with cross-entropy over its classes; a
    2-D 0/1 indicator target (one column per binarised trait, a multilabel problem)
    with one sigmoid output per column.

    Parameters
    ----------
    fusion : {"early", "gated", "attention", "late"}, default="gated"
        How modalities are combined; see :class:`FusionRegressor`.
    modalities : dict or None, default=None
        Modality columns; see :class:`FusionRegressor`.
    hidden_size : int, default=64
        Width of the encoders.
    dropout : float, default=0.1
        Dropout after each encoder.
    modality_dropout : float, default=0.1
        Probability of dropping a whole modality of a training sample.
    n_heads : int, default=4
        Attention heads (``fusion="attention"``); any ``hidden_size`` works (see
        :class:`FusionRegressor`).
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    max_epochs : int, default=100
        Maximum number of epochs.
    batch_size : int, default=64
        Mini-batch size.
    early_stopping : bool or "auto", default="auto"
        Early stopping on a held-out ``validation_fraction`` (``"auto"``: from 200
        samples on).
    validation_fraction : float, default=0.1
        Share held out for early stopping (by group when ``groups`` is given).
    patience : int, default=10
        Epochs without improvement before stopping.
    scale_features : bool, default=True
        Standardise the features.
    torch_threads : int or None, default=1
        Torch threads during fit and prediction (restored afterwards).
    device : str or torch.device, default="cpu"
        Where the network trains (skorch's ``device``: ``"cuda"`` ...); prediction
        runs on the CPU (see :class:`FusionRegressor`).
    random_state : int, RandomState instance or None, default=None
        Makes training reproducible on the CPU.
    verbose : int, default=0
        Print skorch's epoch log and a progress bar.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels (a list, one array per column, for a multilabel target).
    net_ : skorch.NeuralNet
        The trained network.
    modality_names_, modality_columns_, modality_importance_, loss_curve_, \
validation_loss_curve_, n_epochs_, best_epoch_, n_features_in_, feature_names_in_
        As in :class:`FusionRegressor`.

    Notes
    -----
    skops: trust ``["skpersona.fusion._classifier.FusionClassifier"]`` (plus
    ``LabelEncoder``'s types, which skops trusts by default).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skpersona.fusion import FusionClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.normal(size=(80, 4)),
    ...                  columns=["au__a", "au__b", "text__0", "text__1"])
    >>> high = np.c_[X["au__a"] > 0, X["text__0"] > 0].astype(int)  # two binarised traits
    >>> clf = FusionClassifier(max_epochs=5, random_state=0).fit(X, high)
    >>> clf.predict_proba(X).shape
    (80, 2)
    """

    def _criterion(self):
        return nn.CrossEntropyLoss if self._multiclass else nn.BCEWithLogitsLoss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, sample_weight=None):
        """Fit the fusion network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix (one column per binarised trait).
        groups : array-like of shape (n_samples,) or None, default=None
            Groups for the early-stopping validation split; inside a cross-validation
            they arrive by metadata routing, as in :meth:`FusionRegressor.fit`.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Non-negative per-sample weights of the training (and validation) loss and
            of the feature standardisation; an integer weight acts like repeating
            the row.

        Returns
        -------
        self : FusionClassifier
        """
        _, y = validate_data(self, X, y, multi_output=True, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        sample_weight = self._check_weights(sample_weight, X)
        X = self._prepare_X(X, reset=True, sample_weight=sample_weight)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is raveled.",
                DataConversionWarning,
                stacklevel=2,
            )
            y = y.ravel()
        if y.ndim == 1:
            self._multiclass = True
            self._encoder = LabelEncoder().fit(y)
            self.classes_ = self._encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"FusionClassifier needs samples of at least 2 classes; got one class "
                    f"({self.classes_[0]!r})."
                )
            Y = self._encoder.transform(y).astype(np.int64)
            n_outputs = len(self.classes_)
        else:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "A 2-D y must be a 0/1 indicator matrix (one column per binarised trait); "
                    "multi-output multiclass targets are not supported. Binarise each column."
                )
            self._multiclass = False
            self.classes_ = [np.array([0, 1]) for _ in range(y.shape[1])]
            Y = y.astype(np.float32)
            n_outputs = y.shape[1]
        if groups is not None:
            groups = np.asarray(groups)
        self.n_outputs_ = 1 if self._multiclass else n_outputs
        return self._fit_net(X, Y, groups, n_outputs=n_outputs, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            For a multilabel target, the probability of 1 in each column.
        """
        check_is_fitted(self)
        logits, _ = self._forward(self._prepare_X(X, reset=False))
        if self._multiclass:
            return _softmax(logits)
        return 1.0 / (1.0 + np.exp(-logits))

    def predict(self, X):
        """Predict class labels (a 0/1 matrix for a multilabel target)."""
        proba = self.predict_proba(X)
        if self._multiclass:
            return self.classes_[np.argmax(proba, axis=1)]
        return (proba > 0.5).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.classifier_tags.multi_label = True
        return tags
