"""skpersona inside AutoML tools, as their users write it: Optuna, FLAML, TPOT.

Each test is one scenario of issue 14 with a tiny budget: scorers passed as objects,
any hidden_size with attention, the single-modality warning on the bare arrays these
tools pass, and FLAML's one-target limit and its clone() pitfall.
"""

import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score

from skpersona.automl import (
    SPACES,
    FusionAutoML,
    FusionLearner,
    configspace_space,
    flaml_metric,
    flaml_space,
    optuna_space,
    optuna_suggest,
    random_search_space,
    traits_as_rows,
)
from skpersona.fusion import FusionRegressor, SingleModalityWarning
from skpersona.metrics import SCORERS, mean_accuracy_score

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _two_modalities(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)),
                     columns=[f"au__{i}" for i in range(3)] + [f"text__{i}" for i in range(3)])
    Y = pd.DataFrame({"extraversion": 0.5 + 0.1 * (X["au__0"] + X["text__0"]),
                      "neuroticism": 0.5 + 0.1 * X["au__1"],
                      "openness": 0.5 + 0.1 * X["text__1"]})
    return X, Y + 0.01 * rng.normal(size=Y.shape)


def test_spaces_cover_the_estimator_and_are_valid():
    space = optuna_space(prefix="fusionregressor__")
    assert set(space) == {f"fusionregressor__{p}" for p in flaml_space()}
    assert set(configspace_space().keys()) == set(flaml_space())
    assert set(flaml_space()) <= set(FusionRegressor().get_params())
    with pytest.raises(ValueError, match="No search range for \\['hiden_size'\\]"):
        optuna_space(params=["hiden_size"])
    # Every point of the space is a valid estimator: sample some and build them.
    sampled = configspace_space(seed=0).sample_configuration(20)
    for config in sampled:
        FusionRegressor(**dict(config))._validate_params()


def test_optuna_search_over_hidden_size_has_no_failed_trial():
    """Scenarios 1 and 3: OptunaSearchCV with skpersona's scorer object, drawing
    hidden_size and n_heads independently for attention: no trial fails."""
    from optuna_integration import OptunaSearchCV

    X, Y = _two_modalities()
    space = optuna_space(params=["hidden_size", "n_heads", "lr"])
    search = OptunaSearchCV(
        FusionRegressor("attention", max_epochs=5, random_state=0), space, n_trials=5,
        cv=KFold(2), scoring=SCORERS["mean_accuracy"], random_state=0, error_score="raise",
    ).fit(X, Y)
    trials = search.trials_
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert any(t.params["hidden_size"] % t.params["n_heads"] for t in trials)
    assert search.predict(X).shape == Y.shape


def test_a_failing_fit_keeps_its_message_in_a_plain_optuna_study(caplog):
    """OptunaSearchCV (optuna-integration 5.0) catches any ValueError around
    cross_validate and scores the trial error_score, so a fit's own message is lost
    (Optuna then says "The value nan is not acceptable"). In a plain study the
    trial's failure keeps skpersona's message; the user guide says to debug there or
    with cross_validate(error_score="raise")."""
    X, Y = _two_modalities(n=40)

    def objective(trial):
        lr = trial.suggest_float("lr", -1.0, -0.5)  # invalid on purpose
        model = FusionRegressor(max_epochs=1, lr=lr)
        return cross_val_score(model, X, Y, cv=2, scoring=SCORERS["mean_accuracy"],
                               error_score="raise").mean()

    study = optuna.create_study(direction="maximize")
    with caplog.at_level("WARNING", logger="optuna"):
        study.optimize(objective, n_trials=1, catch=(ValueError,))
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.FAIL
    assert "The 'lr' parameter" in caplog.text and "must be a float in the range" in caplog.text


def test_plain_optuna_study_with_scorer_objects():
    """A hand-written objective: trial.suggest via the published distributions."""
    X, Y = _two_modalities()
    space = optuna_space(params=["fusion", "hidden_size", "lr"])

    def objective(trial):
        params = optuna_suggest(trial, params=["fusion", "hidden_size", "lr"])
        model = FusionRegressor(max_epochs=10, random_state=0, **params)
        return cross_val_score(model, X, Y, cv=KFold(2), scoring=SCORERS["ccc"],
                               error_score="raise").mean()

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=4)
    assert study.best_value > 0.3 and set(study.best_params) == set(space)


def test_random_search_space_runs_in_randomized_search():
    """scipy.stats forms: every draw is a valid estimator, and the searches run."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, ParameterSampler, RandomizedSearchCV

    space = random_search_space()
    assert set(space) == set(optuna_space())
    draws = list(ParameterSampler(space, n_iter=200, random_state=0))
    for params in draws:
        FusionRegressor(**params)._validate_params()
    for name, (kind, *spec) in SPACES["fusion"].items():
        values = [d[name] for d in draws]
        if kind != "choice":
            assert spec[0] <= min(values) and max(values) <= spec[1], name
    # hidden_size is log-uniform: about as many draws in 8..31 as in 64..255.
    sizes = np.array([d["hidden_size"] for d in draws])
    assert 0.6 < np.mean(sizes < 32) / np.mean(sizes >= 64) < 1.6

    X, Y = _two_modalities(n=60)
    small = random_search_space(prefix="fusionregressor__",
                                params=["fusion", "hidden_size", "n_heads", "lr", "dropout"])
    from sklearn.pipeline import make_pipeline

    search = RandomizedSearchCV(
        make_pipeline(FusionRegressor(max_epochs=3, random_state=0)), small, n_iter=3,
        cv=KFold(2), scoring=SCORERS["mean_accuracy"], random_state=0, error_score="raise",
    ).fit(X, Y)
    assert search.predict(X).shape == Y.shape
    halving = HalvingRandomSearchCV(
        FusionRegressor(max_epochs=3, random_state=0), random_search_space(params=["lr"]),
        n_candidates=3, cv=KFold(2), min_resources=20, scoring=SCORERS["mean_accuracy"],
        random_state=0, error_score="raise").fit(X, Y)
    # The chosen lr is the sampled candidate with the best score of the last round,
    # and the refit is that candidate fitted on every row.
    results = pd.DataFrame(halving.cv_results_)
    last = results[results["iter"] == results["iter"].max()]
    best = last.loc[last["mean_test_score"].idxmax()]
    assert halving.best_params_["lr"] == best["param_lr"] == halving.best_estimator_.lr
    assert results["param_lr"].nunique() == 3  # three candidates drawn from the space
    lo, hi = SPACES["fusion"]["lr"][1:3]
    assert lo <= halving.best_params_["lr"] <= hi
    refit = FusionRegressor(max_epochs=3, random_state=0, lr=best["param_lr"]).fit(X, Y)
    np.testing.assert_allclose(halving.predict(X), refit.predict(X), rtol=1e-6)


def test_flaml_keeps_every_trait_in_one_network():
    """Scenario 7: FLAML's AutoML takes one target; FusionAutoML trains the three
    traits in one network, and beats predicting the training mean."""
    X, Y = _two_modalities(n=150)
    X_test, Y_test = _two_modalities(n=100, seed=1)
    automl = FusionAutoML(max_iter=3, verbose=0, seed=0, eval_method="cv", n_splits=2)
    automl.fit(X, Y)
    best = automl.model.estimator
    assert isinstance(best, FusionRegressor) and best.n_outputs_ == 3
    assert best.modality_names_ == ["au", "text"]
    pred = automl.predict(X_test)
    assert pred.shape == Y_test.shape
    mean_only = np.tile(Y.mean().to_numpy(), (len(Y_test), 1))
    assert mean_accuracy_score(Y_test, pred) > mean_accuracy_score(Y_test, mean_only)


def test_flaml_clone_drops_add_learner_but_not_fusion_automl():
    """The documented pitfall: clone() forgets add_learner; FusionAutoML does not."""
    from flaml import AutoML

    X, Y = _two_modalities(n=60)
    plain = AutoML(max_iter=1, verbose=0)
    plain.add_learner("fusion", FusionLearner)
    with pytest.raises(Exception, match="fusion"):
        clone(plain).fit(X, Y["neuroticism"], task="regression", estimator_list=["fusion"])
    again = clone(FusionAutoML(max_iter=1, verbose=0, seed=0)).fit(X, Y)
    assert again.predict(X).shape == Y.shape
    # One trait with the plain learner and a skpersona metric also works.
    plain.fit(X, Y["neuroticism"], task="regression", estimator_list=["fusion"],
              metric=flaml_metric("mean_accuracy"))
    assert plain.predict(X).shape == (60,)
    assert traits_as_rows(Y).shape == (60,)


def test_fusion_automl_with_a_seed_is_reproducible():
    """The seed reaches the networks the search trains: two runs give one model."""
    X, Y = _two_modalities(n=60)
    runs = [FusionAutoML(max_iter=2, verbose=0, seed=0).fit(X, Y) for _ in range(2)]
    assert runs[0].model.estimator.random_state == 0
    np.testing.assert_array_equal(runs[0].predict(X), runs[1].predict(X))
    # A seed given to fit, and a user's own custom_hp, both still apply.
    automl = FusionAutoML(max_iter=1, verbose=0).fit(
        X, Y, seed=3, custom_hp={"fusion": {"hidden_size": {"domain": 8, "init_value": 8}}})
    assert automl.model.estimator.random_state == 3
    assert automl.model.estimator.hidden_size == 8


def test_plain_flaml_automl_keeps_the_trait_matrix_shape():
    """FLAML's AutoML.predict flattens a learner's 2-D ndarray to n * traits values."""
    from flaml import AutoML

    X, Y = _two_modalities(n=60)
    automl = AutoML(max_iter=1, verbose=0, seed=0)
    automl.add_learner("fusion", FusionLearner)
    automl.fit(X, traits_as_rows(Y), task="regression", estimator_list=["fusion"],
               skip_transform=True, metric=flaml_metric("mean_accuracy"))
    pred = automl.predict(X)
    assert pred.shape == Y.shape
    np.testing.assert_allclose(np.asarray(pred), automl.model.estimator.predict(X))


def test_bare_arrays_from_automl_tools_warn():
    """Scenario 4: hyperopt-sklearn and FLAML pass ndarrays; a gated fusion then sees
    one modality, and says so (naming the au__/text__ names and modalities=)."""
    X, Y = _two_modalities(n=60)
    automl = FusionAutoML(max_iter=1, verbose=0, seed=0)
    with pytest.warns(SingleModalityWarning, match="modalities="):
        automl.fit(X.to_numpy(), Y.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", SingleModalityWarning)
        FusionAutoML(max_iter=1, verbose=0, seed=0).fit(X, Y)  # named columns: silent


@pytest.mark.slow  # TPOT evolves a population on a (here in-process) Dask cluster
def test_tpot_with_a_fusion_node():
    import tpot
    from tpot.search_spaces.nodes import EstimatorNode

    X, Y = _two_modalities(n=100)
    node = EstimatorNode(FusionRegressor, configspace_space(params=["hidden_size", "lr"]),
                         hyperparameter_parser=lambda params: {**params, "max_epochs": 5,
                                                               "random_state": 0})
    from distributed import Client, LocalCluster

    with Client(LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                             dashboard_address=None)) as client:
        est = tpot.TPOTRegressor(search_space=node, scorers=[SCORERS["mean_accuracy"]],
                                 scorers_weights=[1], cv=2, generations=1, population_size=2,
                                 max_time_mins=2, verbose=0, random_state=0, client=client)
        est.fit(X, Y["extraversion"])
    assert isinstance(est.fitted_pipeline_, FusionRegressor)


def test_optuna_example_silences_exactly_optunas_future_warnings():
    """The Optuna example filters one message narrowly: it must be the one
    OptunaSearchCV emits (one FutureWarning per trial), and the only FutureWarning."""
    import re
    from pathlib import Path

    from optuna_integration import OptunaSearchCV

    example = (Path(__file__).parents[1] / "examples" / "plot_automl_optuna.py").read_text()
    message = re.search(r'filterwarnings\("ignore", message="([^"]+)"', example).group(1)
    X, Y = _two_modalities(n=40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        OptunaSearchCV(FusionRegressor(max_epochs=2, random_state=0), optuna_space(params=["lr"]),
                       n_trials=2, cv=KFold(2), scoring=SCORERS["mean_accuracy"],
                       random_state=0).fit(X, Y)
    future = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    assert future and all(re.match(message, m) for m in future), future
