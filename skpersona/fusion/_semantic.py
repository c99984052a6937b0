"""SemanticFusionRegressor: the AU-text semantic fusion method as one estimator."""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold
from sklearn.multioutput import MultiOutputRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..au import (
    AUDescriber,
    AUSelector,
    AUStatistics,
    KeyframeWindows,
    join_answer_videos,
    missing_video,
)
from ..au._answers import is_missing_video
from ..au._frames import au_columns, object_column
from ..metrics import pearson_r_per_trait
from ..text import DEFAULT_TEMPLATE, AUTextComposer, TextEmbedder

_PASS = "passthrough"
_ALPHAS = np.logspace(-2, 4, 13)


def _training_scale(tables):
    """One AU scale for every table: their ``attrs["au_scale"]``, else inferred once from
    all training values (above 1 anywhere: OpenFace's 0-5), never video by video."""
    given = {str(t.attrs["au_scale"]) for t in tables if t.attrs.get("au_scale") is not None}
    if len(given) > 1:
        raise ValueError(
            f"The frame tables mix AU scales {sorted(given)}; one model reads one detector's "
            "output. Extract every video with the same detector (or rescale the tables)."
        )
    if given:
        return given.pop()
    top = 0.0
    for table in tables:
        values = table[au_columns(table)].to_numpy(dtype=float, na_value=np.nan)
        if values.size and np.isfinite(values).any():
            top = max(top, float(np.nanmax(values)))
    return "0-5" if top > 1.0 else "0-1"


def _default_head(features, y, groups):
    """RidgeCV with one alpha per trait: leave-one-out, or group folds with ``groups``."""
    if groups is not None and len(np.unique(groups)) >= 2:
        folds = list(GroupKFold(min(5, len(np.unique(groups)))).split(features, y, groups))
        ridge = RidgeCV(alphas=_ALPHAS, cv=folds)  # sklearn has alpha_per_target for LOO only
        return (ridge if y.ndim == 1 else MultiOutputRegressor(ridge)).fit(features, y)
    return RidgeCV(alphas=_ALPHAS, alpha_per_target=True).fit(features, y)


def _names(columns):
    """A column name or a list of them, as a list."""
    return [columns] if isinstance(columns, str) else list(columns)


def _step(value, default):
    """A fresh step: the user's (cloned), a default for None, None for 'passthrough'."""
    if isinstance(value, str) and value == _PASS:
        return None
    return clone(value) if value is not None else default


class SemanticFusionRegressor(RegressorMixin, BaseEstimator):
    """AU-text semantic fusion: facial behaviour put into words, embedded with the answer.

    The method of AU-text fusion for asynchronous video interviews, as one
    estimator that can be cross-validated and grid-searched as a whole:

    1. **keyframe windows** (:class:`~skpersona.au.KeyframeWindows`): each
       video's AU frame table is cut to short windows around the moments the
       face changes most;
    2. **AU selection** (:class:`~skpersona.au.AUSelector`): the informative
       AUs are chosen on the training data (simulated annealing, Pareto front
       of score against the number of AUs) and kept, trait by trait, only
       where the text path they restrict scores higher on training rows the
       selection never saw (``selection="auto"``);
    3. **AU sequence in words** (:class:`~skpersona.au.AUDescriber`, restricted
       to the selected AUs where they are kept): per window, which actions
       start, peak and end;
    4. **one text per interview** (:class:`~skpersona.text.AUTextComposer`):
       the description and the answer transcript;
    5. **sentence embedding** (:class:`~skpersona.text.TextEmbedder`, any
       sentence-transformers model; offline all-MiniLM-L6-v2 by default), never
       fine-tuned;
    6. **a light regression head** (``RidgeCV`` by default) on the
       standardised embedding, one output per trait (Big Five, HEXACO or any
       set of target columns).

    With ``text_fusion="separate"`` the description and the answer are
    embedded apart and the two embeddings concatenated (the language model
    then never sees them in one context, but neither drowns the other in
    one pooled vector; with a 256-token model a long joint text is split
    and mean-pooled anyway). With ``au_statistics=True`` the head also sees the standardised
    :class:`~skpersona.au.AUStatistics` of the selected AUs over the windows
    (a hybrid: the text path plus the numbers it was written from). The
    default, False, is the method as published: the head sees the embedding
    only.

    Parameters
    ----------
    keyframes : KeyframeWindows, "passthrough" or None, default=None
        None: ``KeyframeWindows()``; ``"passthrough"``: whole videos. The
        selector and AU statistics read the windows; the describer reads every
        frame with the windows marked (the same windowing with
        ``keep="all"``), so that its rates (how often an AU shows) are over
        all tracked frames, not over the windows chosen for change, while its
        sequence narrates the windows.
    selector : AUSelector, "passthrough" or None, default=None
        None: ``AUSelector(random_state=random_state)`` (AU statistics with
        the training AU scale, a ridge, 20% of the training rows held out of
        its search); ``"passthrough"``: every AU, no selection. Fitted on the
        windows and all target columns (and on ``groups``, when given); how
        its selection is used is ``selection``'s.
    selection : {"auto", "always"}, default="auto"
        ``"auto"``: the selection is used per trait, only where it helps the
        text path. Both text paths, the description restricted to the
        selected AUs and the description of every AU (each embedded with the
        answer, then the same scaler and head), are fitted on the rows the
        selector searched on and scored (Pearson r per trait) on the rows it
        held out of its search: training rows no part of the selection saw.
        Each trait keeps the selected AUs only where they score higher, else
        every AU (``selection_per_trait_``, ``selection_scores_``); the
        final heads are then refitted on all training rows. The selector
        must hold rows out (``AUSelector(holdout=...)``, 0.2 by default).
        ``"always"``: every trait reads the selected AUs.
    describer : AUDescriber or None, default=None
        None: ``AUDescriber(detail="full")`` (summary then sequence). Its
        ``aus`` is replaced by the selected AUs.
    template : str, default="Facial behaviour: {au}\\nAnswer: {transcript}"
        The text embedded per interview (see
        :class:`~skpersona.text.AUTextComposer`); ``"{au}"`` alone is the
        face-only ablation, ``"{transcript}"`` alone the words-only one. With
        ``text_fusion="separate"`` each line is embedded on its own.
    text_fusion : {"joint", "separate"}, default="joint"
        ``"joint"``: one embedding of the composed text (the published
        method); ``"separate"``: one embedding per template line
        (description, answer), concatenated.
    embedder : TextEmbedder or None, default=None
        None: ``TextEmbedder()``, whose default ``cache_dir="auto"`` keeps the
        embeddings in skpersona's cache folder (``skpersona cache info`` lists it,
        ``$SKPERSONA_CACHE_DIR`` moves it), so grid searches and cross-validation
        embed each distinct text once.
    head : regressor, "attention" or None, default=None
        One head per text path (one path unless ``selection="auto"`` splits
        the traits). ``"attention"``: the neural fusion head,
        :class:`FusionRegressor` ``("attention", random_state=...)``, whose
        modality tokens are the text embedding and, with
        ``au_statistics=True``, an AU encoder over the AU statistics
        (cross-modal attention between them; without AU statistics the text
        alone). None: ``RidgeCV(alphas=np.logspace(-2, 4, 13), alpha_per_target=True)``
        (one alpha per trait, by leave-one-out); with ``groups`` in ``fit``,
        one such RidgeCV per trait whose alpha is chosen on ``GroupKFold(5)``
        folds of the groups (leave-one-out would keep a person's other
        interviews in training). Fitted on the
        standardised features.
    au_statistics : bool, default=False
        Also give the head the AU statistics of the selected AUs (see above).
    extractor : transformer or None, default=None
        Turns ``video`` paths into frame tables (e.g.
        ``skpersona.au.AUExtractor(cache_dir=...)``, which needs the ``feat``
        extra); None: ``AUExtractor()`` when a path is met. Frame tables pass
        through untouched.
    video_column : str or list of str, default="video"
        The video column, or several: one answer video per interview question
        (the asynchronous-interview setting, one row per candidate). Several are
        joined per row into one interview, answer after answer, with
        :func:`~skpersona.au.join_answer_videos` (a gap in time between answers,
        each answer its own window), so every later step - keyframes, selection,
        description, statistics - reads one frame table per candidate. An empty cell
        (None, NaN, "") is an answer without video: it adds no frames, and a
        candidate with no video at all is read as a video without a face (below).
    transcript_column : str or list of str, default="transcript"
        The answer text column, or several (one per question): their non-empty
        answers are joined, one per line, in the order given.
    random_state : int, RandomState or None, default=None
        Seeds the default selector.

    Attributes
    ----------
    keyframes_ : KeyframeWindows or None
    selector_ : AUSelector or None
    selected_aus_ : list of str or None
        The selector's AUs (None with ``"passthrough"``); the traits of
        ``selection_per_trait_`` read descriptions restricted to them.
    au_scale_ : str
        The AU scale every video is read on, fixed in ``fit``: the tables'
        ``attrs["au_scale"]``, else inferred once from all training values (a
        calm 0-5 video never reads as 0-1 probabilities). The default
        describer, selector statistics and AU statistics use it.
    selection_per_trait_ : ndarray of bool, shape (n_outputs_,)
        Per trait, whether its description is restricted to the selected AUs
        (all False with ``"passthrough"``, all True with ``"always"``).
    selection_scores_ : ndarray of shape (n_outputs_, 2)
        With ``selection="auto"``: per trait, the held-out Pearson r of the
        text path with the selected AUs (column 0) and with every AU
        (column 1); NaN otherwise.
    selection_used_ : bool
        Whether any trait reads the selected AUs.
    composers_ : list of AUTextComposer
        One per embedded text (one, or one per template line).
    embedder_ : TextEmbedder
    branches_ : list of dict
        One text path per AU set in use, by first trait: ``aus`` (None: every
        AU), ``traits`` (the target columns it predicts), ``describer``
        (AUDescriber), ``statistics`` (AUStatistics with
        ``au_statistics=True``, else None), ``scaler`` (StandardScaler) and
        ``head`` (the fitted regressor).
    n_outputs_ : int
    target_names_ : ndarray of str or None
        Column names of a DataFrame ``y``.

    See Also
    --------
    FusionRegressor : the neural path, fusing AU statistics and text embeddings.

    Notes
    -----
    Input X: a DataFrame with a ``video`` column (frame tables or paths) and a
    ``transcript`` column (str), or the columns named by ``video_column`` and
    ``transcript_column``; y: one column per trait. A video without a tracked
    face (none found, or tracking lost throughout) is described as such, and
    the AU statistics the selector and ``au_statistics`` read are the training
    means plus a ``no_face`` indicator column (``AUStatistics(missing="impute")``);
    a warning names such videos. The embedding model
    is loaded in ``fit`` and kept in a per-process cache, never in the
    estimator's state, so pickles and skops files hold only parameters and
    fitted heads. skops: trust the types that ``skops.io.get_untrusted_types``
    lists (skpersona classes, the head).

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skpersona.datasets import make_interviews
    >>> from skpersona.fusion import SemanticFusionRegressor
    >>> data = make_interviews(n_samples=40, n_frames=45, random_state=0)
    >>> model = SemanticFusionRegressor(selector="passthrough", head=Ridge(),
    ...                                 random_state=0).fit(data.data, data.target)
    >>> model.predict(data.data.iloc[:2]).shape
    (2, 5)
    >>> print(model.compose(data.data.iloc[:1])[0, 0][:64])
    Facial behaviour: The lip pressor (AU24) appears in 89% of frame
    """

    _parameter_constraints = {
        "keyframes": [HasMethods(["fit", "transform"]), StrOptions({_PASS}), None],
        "selector": [HasMethods(["fit", "transform"]), StrOptions({_PASS}), None],
        "selection": [StrOptions({"auto", "always"})],
        "describer": [HasMethods(["fit", "transform"]), None],
        "template": [str],
        "text_fusion": [StrOptions({"joint", "separate"})],
        "embedder": [HasMethods(["fit", "transform"]), None],
        "head": [HasMethods(["fit", "predict"]), StrOptions({"attention"}), None],
        "au_statistics": ["boolean"],
        "extractor": [HasMethods(["transform"]), None],
        "video_column": [str, list],
        "transcript_column": [str, list],
        "random_state": ["random_state"],
    }

    def __init__(self, keyframes=None, selector=None, selection="auto", describer=None,
                 template=DEFAULT_TEMPLATE, text_fusion="joint", embedder=None, head=None,
                 au_statistics=False, extractor=None, video_column="video",
                 transcript_column="transcript", random_state=None):
        self.keyframes = keyframes
        self.selector = selector
        self.selection = selection
        self.describer = describer
        self.template = template
        self.text_fusion = text_fusion
        self.embedder = embedder
        self.head = head
        self.au_statistics = au_statistics
        self.extractor = extractor
        self.video_column = video_column
        self.transcript_column = transcript_column
        self.random_state = random_state

    # -- input ---------------------------------------------------------------------------

    def _columns(self, X):
        """The video columns' cells (one list per column) and one transcript per row."""
        video_columns = _names(self.video_column)
        text_columns = _names(self.transcript_column)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"X must be a DataFrame with video column(s) {video_columns} (frame tables "
                f"or paths) and transcript column(s) {text_columns} (str), got "
                f"{type(X).__name__}; see skpersona.datasets.make_interviews for the format."
            )
        missing = [c for c in video_columns + text_columns if c not in X.columns]
        if missing:
            raise ValueError(
                f"X has no column {missing[0]!r} (columns: {list(X.columns)[:8]}). Set "
                "video_column / transcript_column to the right names."
            )
        videos = [list(X[c]) for c in video_columns]
        if len(text_columns) == 1:
            return videos, X[text_columns[0]].tolist()
        # several answers: one transcript, the answers in question order
        transcripts = ["\n".join(str(t) for t in row if isinstance(t, str) and t.strip())
                       for row in X[text_columns].itertuples(index=False)]
        return videos, transcripts

    def _frame_tables(self, videos):
        """One frame table per row: the video's, or its answer videos joined in time."""
        columns = []
        for cells in videos:
            cells = [missing_video() if is_missing_video(v) else v for v in cells]
            if not all(isinstance(v, pd.DataFrame) for v in cells):
                extractor = self.extractor
                if extractor is None:
                    from ..au import AUExtractor

                    extractor = AUExtractor()
                cells = list(clone(extractor).fit().transform(object_column(cells))[:, 0])
            columns.append(cells)
        if len(columns) == 1:
            return columns[0]
        return [join_answer_videos(answers) for answers in zip(*columns, strict=True)]

    # -- the chain -----------------------------------------------------------------------

    def _texts(self, tables, transcripts, describer):
        """(n_samples, n_texts) object array: one column per embedded text."""
        descriptions = describer.transform(tables)[:, 0]
        frame = pd.DataFrame({"au_description": descriptions, "transcript": transcripts})
        return np.hstack([c.transform(frame) for c in self.composers_])

    def _views(self, tables, fit=False):
        """The windows (what AU statistics read) and the tables the describer reads: every
        frame, the windows marked, so that rates are over all tracked frames (windows are
        chosen for change) while the sequence narrates the windows."""
        if self.keyframes_ is None:
            return tables, tables
        windows = (self.keyframes_.fit_transform(tables) if fit
                   else self.keyframes_.transform(tables))
        if "keep" not in self.keyframes_.get_params():  # another windowing: windows only
            return windows, windows
        marked = clone(self.keyframes_).set_params(keep="all")
        return windows, marked.fit_transform(tables)

    def _inputs(self, branch, views, transcripts):
        """The head's unscaled input for one branch: embeddings (+ AU statistics)."""
        windows, described = views
        texts = self._texts(described, transcripts, branch["describer"])
        blocks = [self.embedder_.transform(texts[:, j]) for j in range(texts.shape[1])]
        if branch["statistics"] is not None:
            blocks.append(branch["statistics"].transform(windows))
        return np.hstack([b.astype(np.float64) for b in blocks])

    def _fit_head(self, features, y, groups, n_au=0):
        """The head fitted on standardised features whose last n_au columns are AU
        statistics (the rest: the text embeddings)."""
        if self.head is None:
            return _default_head(features, y, groups)
        if isinstance(self.head, str):  # "attention": the neural fusion head
            from ._regressor import FusionRegressor

            text = slice(0, features.shape[1] - n_au)
            modalities = {"text": text, "au": slice(text.stop, None)} if n_au else None
            head = FusionRegressor("attention", modalities=modalities,
                                   random_state=self._head_seed)
            return head.fit(features, y) if groups is None else head.fit(features, y,
                                                                         groups=groups)
        return clone(self.head).fit(features, y)

    @staticmethod
    def _au_width(branch):
        statistics = branch["statistics"]
        return 0 if statistics is None else len(statistics.get_feature_names_out())

    def _branch(self, aus, views):
        """Describer (and AU statistics) restricted to ``aus`` (None: every AU), fitted."""
        describer = _step(self.describer, AUDescriber(detail="full"))
        if describer.get_params().get("au_scale", "") is None:
            describer.set_params(au_scale=self.au_scale_)
        statistics = None
        if self.au_statistics:
            statistics = AUStatistics(aus=aus, au_scale=self.au_scale_,
                                      missing="impute").fit(views[0])
        return {"aus": aus, "describer": describer.set_params(aus=aus).fit(views[1]),
                "statistics": statistics}

    def _choose_per_trait(self, branches, inputs, y, groups):
        """Per trait, whether the selected AUs' text path beats every AU's, scored on
        the rows the selector's search never saw (training rows, never test ones)."""
        held = getattr(self.selector_, "holdout_indices_", None)
        if held is None or len(held) < 3:
            raise ValueError(
                "selection='auto' scores the selection on the rows the selector held out of "
                "its search, and this selector held out none (or fewer than 3). Give it a "
                "holdout (AUSelector(holdout=0.2)) or use selection='always'."
            )
        search = np.setdiff1d(np.arange(len(y)), held)
        y2 = y.reshape(len(y), -1)
        scores = []
        for branch, features in zip(branches, inputs):  # [selected AUs, every AU]
            scaler = StandardScaler().fit(features[search])
            head = self._fit_head(scaler.transform(features[search]), y2[search],
                                  None if groups is None else np.asarray(groups)[search],
                                  self._au_width(branch))
            pred = np.asarray(head.predict(scaler.transform(features[held]))).reshape(
                len(held), -1)
            scores.append(pearson_r_per_trait(y2[held], pred, multioutput="raw_values"))
        self.selection_scores_ = np.column_stack(scores)
        return self.selection_scores_[:, 0] > self.selection_scores_[:, 1]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None):
        """Fit every stage on (X, y).

        Parameters
        ----------
        X : DataFrame
            ``video`` (frame tables or paths) and ``transcript`` columns.
        y : array-like of shape (n_samples,) or (n_samples, n_traits)
        groups : array-like of shape (n_samples,) or None, default=None
            Identities, passed to the selector (its held-out part and folds
            never split a group) and to the default head's folds. With
            metadata routing, request it with ``set_fit_request(groups=True)``.

        Returns
        -------
        self
        """
        videos, transcripts = self._columns(X)
        y_frame = y if isinstance(y, pd.DataFrame) else None
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2) or len(y) != len(transcripts):
            raise ValueError(f"y must have one row per sample ({len(transcripts)}), got shape "
                             f"{y.shape}.")
        if not np.isfinite(y).all():
            raise ValueError("y has NaN or infinite values; drop or impute those samples.")
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self._one_target = y.ndim == 1
        self.target_names_ = (np.asarray(y_frame.columns, dtype=object)
                              if y_frame is not None else None)
        tables = self._frame_tables(videos)
        self.au_scale_ = _training_scale(tables)
        self.keyframes_ = _step(self.keyframes, KeyframeWindows())
        views = self._views(tables, fit=True)
        windows = views[0]
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._head_seed = seed
        statistics = AUStatistics(au_scale=self.au_scale_, missing="impute")
        self.selector_ = _step(self.selector, AUSelector(statistics=statistics,
                                                         random_state=seed))
        options = [None]  # the AU sets a text path may describe: every AU ...
        if self.selector_ is not None:
            self.selector_.fit(windows, y, groups=groups)
            self.selected_aus_ = list(self.selector_.selected_aus_)
            options = [self.selected_aus_, None]  # ... and the selected ones
        else:
            self.selected_aus_ = None
        lines = [self.template]
        if self.text_fusion == "separate":
            lines = [line for line in self.template.split("\n") if "{" in line]
        blank = pd.DataFrame({"au_description": [""] * len(transcripts),
                              "transcript": transcripts})
        self.composers_ = [AUTextComposer(template=line).fit(blank) for line in lines]
        self.embedder_ = _step(self.embedder, TextEmbedder())
        if self.selector_ is not None and self.selection == "always":
            options = options[:1]
        branches = [self._branch(aus, views) for aus in options]
        self.embedder_.fit(self._texts(views[1][:1], transcripts[:1],
                                       branches[0]["describer"])[:, 0])
        inputs = [self._inputs(b, views, transcripts) for b in branches]
        use = np.zeros(self.n_outputs_, dtype=bool)  # per trait: the selected AUs' path
        self.selection_scores_ = np.full((self.n_outputs_, 2), np.nan)
        if self.selector_ is not None:
            use = (np.ones(self.n_outputs_, dtype=bool) if self.selection == "always"
                   else self._choose_per_trait(branches, inputs, y, groups))
        self.selection_per_trait_ = use
        self.selection_used_ = bool(use.any())
        y2 = y.reshape(len(y), -1)
        self.branches_ = []
        for branch, features, selected in zip(branches, inputs, [True, False]):
            traits = np.flatnonzero(use == selected) if self.selector_ is not None else (
                np.arange(self.n_outputs_))
            if traits.size == 0:
                continue
            scaler = StandardScaler().fit(features)
            target = y if self._one_target else y2[:, traits]
            branch.update(traits=traits, scaler=scaler,
                          head=self._fit_head(scaler.transform(features), target, groups,
                                              self._au_width(branch)))
            self.branches_.append(branch)
        self.branches_.sort(key=lambda b: b["traits"][0])
        return self

    def _prepared(self, X):
        videos, transcripts = self._columns(X)
        return self._views(self._frame_tables(videos)), transcripts

    def compose(self, X):
        """The text embedded for each sample (description and answer).

        Parameters
        ----------
        X : DataFrame

        Returns
        -------
        ndarray of shape (n_samples, n_texts), dtype=object
            One column, or one per template line with ``text_fusion="separate"``.
            When the traits read different descriptions (``selection="auto"``),
            the texts of the first trait's path.
        """
        check_is_fitted(self, "branches_")
        views, transcripts = self._prepared(X)
        return self._texts(views[1], transcripts, self.branches_[0]["describer"])

    def predict(self, X):
        """Predict the traits.

        Parameters
        ----------
        X : DataFrame
            ``video`` and ``transcript`` columns.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_traits)
        """
        check_is_fitted(self, "branches_")
        views, transcripts = self._prepared(X)
        out = np.empty((len(transcripts), self.n_outputs_))
        for branch in self.branches_:
            features = branch["scaler"].transform(self._inputs(branch, views, transcripts))
            out[:, branch["traits"]] = np.asarray(branch["head"].predict(features)).reshape(
                len(transcripts), -1)
        return out[:, 0] if self._one_target else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
