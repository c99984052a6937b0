"""Common-check instances for skpersona.independence."""

from skpersona.independence import DependencyScreen

INSTANCES = [
    DependencyScreen(methods=["fisherz"], random_state=0),
]

EXPECTED_FAILED_CHECKS = {}
