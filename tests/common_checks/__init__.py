"""Instances and documented expected failures for scikit-learn's common checks.

Each area (au, text, fusion, independence, crl, ...) has one module here that
defines

``INSTANCES``
    a list of estimator instances, configured to be fast, for every public
    estimator of that area;
``EXPECTED_FAILED_CHECKS``
    ``{class_name: {check_name: reason}}``, one documented reason per check that
    cannot pass (e.g. an estimator whose input is file paths or strings);
``CONTRACT_PARAMS`` (optional)
    ``{class_name: params}`` set on the instance for the checks that test the API
    contract only, not the quality of the fit (e.g. fewer epochs); the checks
    that assert a score run on the instance as listed in ``INSTANCES``.

``tests/test_common.py`` gathers all modules and checks that every estimator that
``skpersona.utils.all_estimators`` finds is covered.
"""

import importlib
import pkgutil


def gather():
    """Return ``(instances, expected_failed_checks, contract_params)`` merged over all
    area modules."""
    instances, expected, contract = [], {}, {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        instances.extend(getattr(module, "INSTANCES", []))
        for name, checks in getattr(module, "EXPECTED_FAILED_CHECKS", {}).items():
            expected.setdefault(name, {}).update(checks)
        contract.update(getattr(module, "CONTRACT_PARAMS", {}))
    return instances, expected, contract
