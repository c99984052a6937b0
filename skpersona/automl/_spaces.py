"""The main parameters of skpersona's estimators, as one table for every tuner."""

import math

import numpy as np

# Per estimator: parameter -> ("int" | "float", low, high, log) or ("choice", options).
# Ranges are wide enough for real data and cheap at their low end (FLAML starts there).
SPACES = {
    "fusion": {
        "fusion": ("choice", ("gated", "late", "attention", "early")),
        "hidden_size": ("int", 8, 256, True),
        "n_heads": ("int", 1, 8, False),
        "dropout": ("float", 0.0, 0.5, False),
        "modality_dropout": ("float", 0.0, 0.5, False),
        "lr": ("float", 1e-4, 3e-2, True),
        "weight_decay": ("float", 1e-6, 1e-2, True),
        "batch_size": ("int", 16, 256, True),
        "max_epochs": ("int", 10, 300, True),
    },
    "ridge": {
        "alpha": ("float", 1e-3, 1e4, True),
    },
}


def _table(estimator, params):
    if estimator not in SPACES:
        raise ValueError(f"estimator must be one of {sorted(SPACES)}, got {estimator!r}.")
    table = SPACES[estimator]
    if params is None:
        return table
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise ValueError(f"No search range for {unknown} of {estimator!r}; "
                         f"it has {sorted(table)}.")
    return {name: table[name] for name in params}


def optuna_space(estimator="fusion", *, prefix="", params=None):
    """Optuna distributions for an estimator's main parameters.

    Parameters
    ----------
    estimator : {"fusion", "ridge"}, default="fusion"
        Whose parameters: :class:`~skpersona.fusion.FusionRegressor` and
        :class:`~skpersona.fusion.FusionClassifier` (``"fusion"``), or a ridge head's
        ``alpha``.
    prefix : str, default=""
        Prepended to each name, e.g. ``"fusionregressor__"`` for a pipeline step.
    params : list of str or None, default=None
        A subset of the parameters (all of them by default).

    Returns
    -------
    dict of str -> optuna.distributions.BaseDistribution
        For ``optuna_integration.OptunaSearchCV(param_distributions=...)``. In a
        hand-written objective, draw the same parameters with :func:`optuna_suggest`
        (Optuna's public ``trial.suggest_*`` calls).

    Examples
    --------
    >>> from skpersona.automl import optuna_space
    >>> space = optuna_space(prefix="fusionregressor__", params=["lr", "fusion"])
    >>> space["fusionregressor__lr"]
    FloatDistribution(high=0.03, log=True, low=0.0001, step=None)
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space = {}
    for name, spec in _table(estimator, params).items():
        if spec[0] == "choice":
            dist = CategoricalDistribution(list(spec[1]))
        elif spec[0] == "int":
            dist = IntDistribution(spec[1], spec[2], log=spec[3])
        else:
            dist = FloatDistribution(spec[1], spec[2], log=spec[3])
        space[prefix + name] = dist
    return space


def optuna_suggest(trial, estimator="fusion", *, prefix="", params=None):
    """Draw an estimator's main parameters in an Optuna objective.

    The ranges of :func:`optuna_space`, drawn with Optuna's public
    ``trial.suggest_categorical`` / ``suggest_int`` / ``suggest_float``.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial of the objective.
    estimator, prefix, params
        As in :func:`optuna_space`.

    Returns
    -------
    dict
        ``{name: value}``, e.g. for ``FusionRegressor(**values)`` or ``set_params``.

    Examples
    --------
    >>> import optuna
    >>> from skpersona.automl import optuna_suggest
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> sorted(optuna_suggest(study.ask(), params=["lr", "fusion"]))
    ['fusion', 'lr']
    """
    values = {}
    for name, spec in _table(estimator, params).items():
        key = prefix + name
        if spec[0] == "choice":
            values[key] = trial.suggest_categorical(key, list(spec[1]))
        elif spec[0] == "int":
            values[key] = trial.suggest_int(key, spec[1], spec[2], log=spec[3])
        else:
            values[key] = trial.suggest_float(key, spec[1], spec[2], log=spec[3])
    return values


def _log_uniform_int(low, high):
    """The integers low..high with the probabilities of a log-uniform draw rounded down
    (scipy's ``loguniform`` is continuous; the estimators want integers)."""
    from scipy import stats

    k = np.arange(low, high + 1)
    p = np.log((k + 1) / k)
    return stats.rv_discrete(values=(k, p / p.sum()))


def random_search_space(estimator="fusion", *, prefix="", params=None):
    """scipy.stats distributions of an estimator's main parameters, for
    ``RandomizedSearchCV`` and ``HalvingRandomSearchCV``.

    The ranges of :func:`optuna_space`: categorical parameters as lists, integers as
    ``scipy.stats.randint`` (or a log-uniform ``rv_discrete`` where the range is
    logarithmic), floats as ``scipy.stats.uniform`` or ``loguniform``.

    Parameters
    ----------
    estimator, prefix, params
        As in :func:`optuna_space`.

    Returns
    -------
    dict
        ``{name: list or scipy.stats distribution}`` for ``param_distributions=``.

    Examples
    --------
    >>> from sklearn.model_selection import ParameterSampler
    >>> from skpersona.automl import random_search_space
    >>> space = random_search_space(params=["hidden_size", "lr"])
    >>> [sorted(p) for p in ParameterSampler(space, n_iter=1, random_state=0)]
    [['hidden_size', 'lr']]
    """
    from scipy import stats

    space = {}
    for name, spec in _table(estimator, params).items():
        if spec[0] == "choice":
            dist = list(spec[1])
        elif spec[0] == "int":
            dist = (_log_uniform_int(spec[1], spec[2]) if spec[3]
                    else stats.randint(spec[1], spec[2] + 1))
        else:
            dist = (stats.loguniform(spec[1], spec[2]) if spec[3]
                    else stats.uniform(spec[1], spec[2] - spec[1]))
        space[prefix + name] = dist
    return space


def flaml_space(estimator="fusion", *, prefix="", params=None, learner=False):
    """FLAML (``flaml.tune``) domains for an estimator's main parameters.

    Parameters
    ----------
    estimator, prefix, params
        As in :func:`optuna_space`.
    learner : bool, default=False
        Return the form of a FLAML learner's ``search_space``: ``{name: {"domain": ...,
        "init_value": ..., "low_cost_init_value": ...}}``, starting from the cheap end
        of each range (small networks, few epochs).

    Returns
    -------
    dict
        ``{name: domain}`` for ``flaml.tune.run(config=...)``, or the learner form.

    Examples
    --------
    >>> from skpersona.automl import flaml_space
    >>> sorted(flaml_space(params=["hidden_size", "lr"]))
    ['hidden_size', 'lr']
    """
    from flaml import tune

    space = {}
    for name, spec in _table(estimator, params).items():
        if spec[0] == "choice":
            domain, low = tune.choice(list(spec[1])), spec[1][0]
        elif spec[0] == "int":
            domain = (tune.lograndint if spec[3] else tune.randint)(spec[1], spec[2] + 1)
            low = spec[1]
        else:
            domain = (tune.loguniform if spec[3] else tune.uniform)(spec[1], spec[2])
            low = spec[1]
        if not learner:
            space[prefix + name] = domain
            continue
        entry = {"domain": domain}
        if name in ("hidden_size", "max_epochs", "batch_size"):
            # Cheap to start: FLAML grows the costly parameters only when they pay off.
            entry["low_cost_init_value"] = low if name != "batch_size" else spec[2]
        if name == "lr":
            entry["init_value"] = 1e-3
        elif spec[0] == "float" and spec[3]:
            entry["init_value"] = math.sqrt(spec[1] * spec[2])
        space[prefix + name] = entry
    return space


def configspace_space(estimator="fusion", *, prefix="", params=None, seed=None):
    """A ConfigSpace ``ConfigurationSpace`` of an estimator's main parameters (for TPOT).

    TPOT 1.x describes each pipeline node by a ``ConfigurationSpace``; pass this one
    to ``tpot.search_spaces.nodes.EstimatorNode(FusionRegressor, space)``.

    Parameters
    ----------
    estimator, prefix, params
        As in :func:`optuna_space`.
    seed : int or None, default=None
        Seed of the space's sampler.

    Returns
    -------
    ConfigSpace.ConfigurationSpace

    Examples
    --------
    >>> from skpersona.automl import configspace_space
    >>> sorted(configspace_space(params=["fusion", "lr"]).keys())
    ['fusion', 'lr']
    """
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

    space = ConfigurationSpace(seed=seed)
    for name, spec in _table(estimator, params).items():
        key = prefix + name
        if spec[0] == "choice":
            space.add(Categorical(key, list(spec[1])))
        elif spec[0] == "int":
            space.add(Integer(key, (spec[1], spec[2]), log=spec[3]))
        else:
            space.add(Float(key, (spec[1], spec[2]), log=spec[3]))
    return space
