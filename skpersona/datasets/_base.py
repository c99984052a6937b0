"""Where real data sets live on disk."""

import os
from pathlib import Path

_REPO_SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def get_data_home(data_home=None):
    """Return the folder that holds skpersona's real data sets.

    Parameters
    ----------
    data_home : str, path-like or None, default=None
        An explicit folder. When None: ``$SKPERSONA_DATA`` if set, else the
        ``shared/data`` folder beside a source checkout, else ``~/skpersona_data``.

    Returns
    -------
    pathlib.Path
        The folder (it is not created).

    Examples
    --------
    >>> from skpersona.datasets import get_data_home
    >>> get_data_home("/tmp/somewhere").name
    'somewhere'
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("SKPERSONA_DATA"):
        return Path(os.environ["SKPERSONA_DATA"]).expanduser()
    if _REPO_SHARED.is_dir():
        return _REPO_SHARED
    return Path("~/skpersona_data").expanduser()


def _require_files(folder, names, dataset, how_to_get):
    """Raise a FileNotFoundError listing every missing file and where to put it."""
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{dataset}: missing {', '.join(missing)} in {folder}. {how_to_get} "
            "Pass data_home=... or set $SKPERSONA_DATA to the folder that holds it."
        )
