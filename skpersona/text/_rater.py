"""Trait ratings from text by several LLMs voting (PersonaX style)."""

import json
import os
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..traits import resolve_traits
from ..utils._ratings import median_of_present
from ._chat import ChatClient, clip, redact
from ._inputs import as_text_items, check_texts

DEFAULT_SYSTEM_PROMPT = (
    "You are an expert personality psychologist. You rate personality traits from what a "
    "person says, and you answer only with JSON."
)

DEFAULT_PROMPT = """\
Rate the personality of the person who said the text below on each of these traits: \
{traits}.
Use this scale for every trait:
1 = low, 2 = medium, 3 = high,
0 = the text does not give enough information to judge this trait.
Reply with one JSON object only, mapping each trait name to its rating, for example:
{example}

Text:
\"\"\"
{text}
\"\"\""""

_VALID = {0, 1, 2, 3}
#: A local Ollama server: the one destination a loaded model file may use unallowed.
DEFAULT_BASE_URL = "http://localhost:11434/v1"


def _normalise_key(key):
    return re.sub(r"[\s\-]+", "_", str(key).strip().lower())


def parse_ratings(content, traits):
    """Read a ``{trait: rating}`` JSON object from an LLM reply.

    The first JSON object in the text is used (code fences and prose around it
    are ignored); keys are matched case-insensitively, with spaces or hyphens
    read as underscores; a rating must be 0, 1, 2 or 3 (an integer, an
    integral float, or a string of one digit).

    Parameters
    ----------
    content : str
        The reply text.
    traits : sequence of str
        Traits to read.

    Returns
    -------
    ratings : dict
        Trait -> int in {0, 1, 2, 3}, for the traits read.
    status : {"ok", "partial", "malformed"}
        ``"ok"``: every trait read; ``"partial"``: some; ``"malformed"``: none, or
        no JSON object in the reply.

    Examples
    --------
    >>> from skpersona.text import parse_ratings
    >>> parse_ratings('```json\\n{"Openness": 3, "extraversion": "1"}\\n```',
    ...               ["openness", "extraversion"])
    ({'openness': 3, 'extraversion': 1}, 'ok')
    """
    obj = None
    decoder = json.JSONDecoder()
    text = content if isinstance(content, str) else ""
    for match in re.finditer(r"\{", text):
        try:
            candidate, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(candidate, dict):
            obj = candidate
            break
    if obj is None:
        return {}, "malformed"
    values = {_normalise_key(k): v for k, v in obj.items()}
    ratings = {}
    for trait in traits:
        value = values.get(_normalise_key(trait))
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, Real):
            continue
        if float(value).is_integer() and int(value) in _VALID:
            ratings[trait] = int(value)
    if not ratings:
        return {}, "malformed"
    return ratings, "ok" if len(ratings) == len(traits) else "partial"


def unreadable(content, secret):
    """The report's words for a reply that holds no ratings: the key redacted, then cut.

    The key is redacted in the reply itself, before ``repr`` escapes it and before the
    cut, so that neither an escaped key nor a cut one is left behind.
    """
    return "unreadable reply: " + clip(repr(redact(content, secret)), 120, secret)


def _plain(value):
    """A report value as a plain Python type (numpy scalars become int/float/bool)."""
    return value.item() if isinstance(value, np.generic) else value


def aggregate_votes(votes, fill_value=np.nan):
    """Median of the votes of several models after dropping zeros.

    Parameters
    ----------
    votes : array-like of shape (n_samples, n_models, n_traits)
        Ratings 1-3, 0 for "not enough information", NaN for no vote (a failed
        or malformed reply).
    fill_value : float, default=np.nan
        Value where no model gave a rating from 1 to 3.

    Returns
    -------
    ndarray of shape (n_samples, n_traits)

    See Also
    --------
    skpersona.independence.aggregate_ratings : The same median for rating tables
        (one column per trait and rater, one ``missing_code``, ratings checked
        against a scale). This function is the rater's form: a vote cube straight
        from :class:`LLMTraitRater`, where every non-positive vote and NaN is dropped.

    Examples
    --------
    >>> import numpy as np
    >>> from skpersona.text import aggregate_votes
    >>> aggregate_votes([[[3, 0], [1, 0], [0, 0]]]).tolist()
    [[2.0, nan]]
    """
    votes = np.asarray(votes, dtype=float)
    return median_of_present(np.where(votes > 0, votes, np.nan), axis=1, fill_value=fill_value)


class LLMTraitRater(TransformerMixin, BaseEstimator):
    """Rate traits from text with one or more LLMs through an OpenAI-compatible API.

    PersonaX style: each model rates each trait on a 3-point scale (1 low,
    2 medium, 3 high) or 0 when the text does not give enough information; per
    sample and trait, the ratings of the models are aggregated by their median
    after dropping the zeros. Works with any server of the OpenAI
    ``/v1/chat/completions`` API: local ones (Ollama, vLLM, llama.cpp server)
    or hosted ones.

    Requests are retried with exponential back-off on timeouts, connection
    errors, HTTP 408/409/425/429 and 5xx; replies are cached on disk when
    ``cache_dir`` is set; a reply that cannot be read as ratings is counted and
    reported (``n_malformed_``, ``report_``), never fatal.

    Parameters
    ----------
    models : list of str, default=("llama3.1:8b",)
        Model names as the server knows them; each votes.
    base_url : str, default="http://localhost:11434/v1"
        API root (the default is a local Ollama server). Requests go there
        only: redirects are not followed. :func:`skpersona.load` refuses a model
        file whose ``base_url`` (or ``api_key_env``) is not the default unless
        you allow it by name.
    api_key_env : str or None, default=None
        Name of the environment variable holding the API key, e.g.
        ``"OPENAI_API_KEY"``. The key is read at request time and sent only in
        the ``Authorization`` header; it is never stored in the estimator, logged
        or cached. None sends no key (local servers); the default is None so that
        a key meant for one provider is never sent to another server by accident.
    traits : str or list of str, default="big_five"
        Trait set or names; see :func:`skpersona.resolve_traits`.
    prompt : str or None, default=None
        User prompt template with the placeholders ``{traits}`` (comma-separated
        names), ``{example}`` (a JSON example reply) and ``{text}``; None uses
        :data:`DEFAULT_PROMPT`.
    system_prompt : str or None, default=None
        System message; None uses :data:`DEFAULT_SYSTEM_PROMPT`, ``""`` sends none.
    temperature : float, default=0.0
        Sampling temperature sent with each request.
    max_tokens : int, default=200
        Reply length limit sent with each request.
    timeout : float, default=60.0
        Seconds one request may take in all, however slowly the server replies.
    max_retries : int, default=3
        Further tries after a failed request.
    backoff : float, default=1.0
        Seconds before the first retry, doubled for each next one; a server's
        ``Retry-After`` replaces it. The waits of one request share a budget of
        ``timeout`` seconds: a longer wait is not made, the request fails.
    cache_dir : str, path-like or None, default=None
        Folder of an on-disk cache of replies, keyed by the URL, the model and
        the whole request body (prompt, temperature, ...). None: no cache.
    fill_value : float, default=np.nan
        Output where no model gave a 1-3 rating (all zeros, failures, empty
        text). Chain a ``SimpleImputer`` to fill NaN before a regressor.
    rescale : bool, default=False
        Map ratings from [1, 3] to [0, 1] (``(r - 1) / 2``), the range of
        ChaLearn-style trait scores.
    n_jobs : int or None, default=None
        Concurrent requests (joblib threads); None means 1.
    verbose : bool, default=False
        Show a progress bar over the requests.

    Attributes
    ----------
    traits_ : tuple of str
        Rated traits, the output columns.
    models_ : list of str
        The voting models.
    report_ : DataFrame
        Of the last ``transform``: one row per sample and model with ``sample``,
        ``model``, ``status`` (``"ok"``, ``"partial"``, ``"malformed"``,
        ``"bad_response"``, ``"error"`` or ``"empty"`` for a blank text, which is
        not sent), ``attempts``, ``cached``, ``error`` and one column per trait
        (the model's 0-3 vote, NaN when absent).
    n_malformed_ : int
        Replies of the last ``transform`` that could not be fully read as ratings
        (status ``"partial"``, ``"malformed"`` or ``"bad_response"``).
    n_failed_ : int
        Requests of the last ``transform`` that failed after the retries.

    Notes
    -----
    Input: texts as for :class:`TextEmbedder` (missing or blank ones are not
    sent and get ``fill_value``). Output: float array of shape
    (n_samples, n_traits), one column per trait, values in [1, 3] (halves where
    an even number of models vote) or [0, 1] with ``rescale=True``.

    A server's reply cannot stop ``transform``: a redirect (not followed, so the
    key never leaves ``base_url``), a garbage status line, a body cut short, a
    reply over 8 MB or one past the deadline is a failed or bad request in
    ``report_``. The API key is replaced by ``***`` wherever a server echoes it
    into a message (reason phrases, replies) before it reaches a log or
    ``report_``. ``report_`` is kept as plain Python lists, so a fitted rater
    persists with skops trusting only :class:`LLMTraitRater`.

    Unlike most transformers, ``transform`` records ``report_``,
    ``n_malformed_`` and ``n_failed_`` of the call, and warns when some replies
    were malformed or some requests failed.

    Examples
    --------
    >>> from skpersona.text import LLMTraitRater
    >>> rater = LLMTraitRater(models=["llama3.1:8b", "qwen2.5:7b"], traits=["extraversion"])
    >>> rater.fit(["I love parties."]).get_feature_names_out().tolist()
    ['extraversion']
    >>> rater.transform(["I love parties."])  # doctest: +SKIP
    array([[3.]])
    """

    _parameter_constraints = {
        "models": [list, tuple],
        "base_url": [str],
        "api_key_env": [str, None],
        "traits": [str, list, tuple],
        "prompt": [str, None],
        "system_prompt": [str, None],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "max_tokens": [Interval(Integral, 1, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
        "backoff": [Interval(Real, 0, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "fill_value": [Real],
        "rescale": ["boolean"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        models=("llama3.1:8b",),
        base_url=DEFAULT_BASE_URL,
        api_key_env=None,
        traits="big_five",
        prompt=None,
        system_prompt=None,
        temperature=0.0,
        max_tokens=200,
        timeout=60.0,
        max_retries=3,
        backoff=1.0,
        cache_dir=None,
        fill_value=np.nan,
        rescale=False,
        n_jobs=None,
        verbose=False,
    ):
        self.models = models
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.traits = traits
        self.prompt = prompt
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.cache_dir = cache_dir
        self.fill_value = fill_value
        self.rescale = rescale
        self.n_jobs = n_jobs
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the texts (nothing is sent).

        Parameters
        ----------
        X : list, Series, one-column DataFrame or array of str
        y : ignored

        Returns
        -------
        self
        """
        check_texts(as_text_items(X), "X")
        models = list(self.models)
        if not models or not all(isinstance(m, str) and m for m in models):
            raise ValueError(f"models must be a non-empty list of model names, got {self.models!r}.")
        if len(set(models)) != len(models):
            raise ValueError(f"models has duplicates: {models}.")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}.")
        if self.api_key_env is not None:
            if not os.environ.get(self.api_key_env):
                raise ValueError(
                    f"api_key_env={self.api_key_env!r} names an environment variable that is not "
                    "set. Export the API key under that name, or set api_key_env=None for a "
                    "server that needs no key."
                )
        template = DEFAULT_PROMPT if self.prompt is None else self.prompt
        if "{text}" not in template:
            raise ValueError("prompt must contain the placeholder {text}.")
        self.traits_ = resolve_traits(self.traits)
        self.models_ = models
        self._render(template, "")  # fails early on unknown placeholders
        return self

    def _render(self, template, text):
        example = json.dumps({t: 2 for t in self.traits_})
        try:
            return template.format(traits=", ".join(self.traits_), example=example, text=text)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"prompt has an unknown placeholder or stray brace ({exc}); use {{traits}}, "
                "{example} and {text}, and double literal braces ({{ }})."
            ) from exc

    def _payload(self, model, text):
        template = DEFAULT_PROMPT if self.prompt is None else self.prompt
        system = DEFAULT_SYSTEM_PROMPT if self.system_prompt is None else self.system_prompt
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": self._render(template, text)})
        return {
            "model": model,
            "messages": messages,
            "temperature": float(self.temperature),
            "max_tokens": int(self.max_tokens),
        }

    def transform(self, X):
        """Ask every model to rate every text, and aggregate the votes.

        Parameters
        ----------
        X : list, Series, one-column DataFrame or array of str

        Returns
        -------
        ndarray of shape (n_samples, n_traits)
        """
        check_is_fitted(self, "traits_")
        texts, blank = check_texts(as_text_items(X), "X")
        client = ChatClient(self.base_url, self.api_key_env, self.timeout, self.max_retries,
                            self.backoff, self.cache_dir)
        jobs = [(i, m) for i in np.flatnonzero(~blank) for m in range(len(self.models_))]
        calls = (delayed(client.complete)(self._payload(self.models_[m], texts[i]))
                 for i, m in jobs)
        replies = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(calls)
        if self.verbose:
            from tqdm.auto import tqdm

            replies = tqdm(replies, total=len(jobs), desc="LLM ratings")
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        n_traits = len(self.traits_)
        votes = np.full((len(texts), len(self.models_), n_traits), np.nan)
        rows = {(i, m): {"status": "empty", "attempts": 0, "cached": False, "error": None}
                for i in range(len(texts)) for m in range(len(self.models_))}
        for (i, m), reply in zip(jobs, replies):
            row = rows[(i, m)]
            row.update(status=reply.status, attempts=reply.attempts, cached=reply.cached,
                       error=reply.error)
            if reply.status == "ok":
                ratings, status = parse_ratings(reply.content, self.traits_)
                row["status"] = status
                if status == "malformed":
                    row["error"] = unreadable(reply.content, key)
                for t, trait in enumerate(self.traits_):
                    if trait in ratings:
                        votes[i, m, t] = ratings[trait]
        order = [(i, m) for i in range(len(texts)) for m in range(len(self.models_))]
        # Kept as plain lists (str, int, float, bool, None), so that skops persists a
        # fitted rater without trusting pandas; report_ builds the DataFrame.
        self._report = {
            "sample": [int(i) for i, _ in order],
            "model": [self.models_[m] for _, m in order],
            **{name: [_plain(rows[pair][name]) for pair in order]
               for name in ("status", "attempts", "cached", "error")},
            **{trait: [float(v) for v in votes[:, :, t].reshape(-1)]
               for t, trait in enumerate(self.traits_)},
        }
        report = self.report_
        self.n_malformed_ = int(report["status"].isin(["partial", "malformed", "bad_response"]).sum())
        self.n_failed_ = int((report["status"] == "error").sum())
        if self.n_malformed_ or self.n_failed_:
            warnings.warn(
                f"LLMTraitRater: {self.n_malformed_} malformed repl(ies) and {self.n_failed_} "
                f"failed request(s) out of {len(jobs)}; see report_.",
                UserWarning,
                stacklevel=3,  # the caller of the set_output wrapper of transform
            )
        out = aggregate_votes(votes, fill_value=np.nan)
        if self.rescale:
            out = (out - 1.0) / 2.0
        return np.where(np.isnan(out), float(self.fill_value), out)

    @property
    def report_(self):
        """Per sample and model outcome of the last ``transform`` (see the class docs)."""
        if not hasattr(self, "_report"):
            raise AttributeError("report_ is set by transform; call transform first.")
        return pd.DataFrame(self._report)

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the traits."""
        check_is_fitted(self, "traits_")
        return np.asarray(self.traits_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.non_deterministic = True
        return tags
