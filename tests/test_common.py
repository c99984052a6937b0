"""scikit-learn's common estimator checks over every public skpersona estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skpersona.utils import all_estimators

from .common_checks import gather

INSTANCES, EXPECTED_FAILED_CHECKS = gather()


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def test_every_estimator_is_checked():
    checked = {type(est).__name__ for est in INSTANCES}
    missing = sorted(name for name, _ in all_estimators() if name not in checked)
    assert not missing, (
        f"Estimators without an instance in tests/common_checks: {missing}. "
        "Add one to the area's module there."
    )


def test_expected_failures_are_documented():
    for name, checks in EXPECTED_FAILED_CHECKS.items():
        for check, reason in checks.items():
            assert isinstance(reason, str) and len(reason) > 10, (name, check)


@parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
