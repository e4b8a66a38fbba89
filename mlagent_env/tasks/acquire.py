"""Official download routes for task ``download(raw)`` functions, with clear instructions on failure.

Each function either fills ``raw`` or raises :class:`~mlagent_env.errors.DataUnavailable` saying
exactly what to download, from where, and where to put it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from mlagent_env.errors import DataUnavailable


def kaggle_instructions(competition: str, raw: Path) -> str:
    return (
        f"download the data of the Kaggle competition '{competition}': accept its rules at "
        f"https://www.kaggle.com/competitions/{competition}/rules, then either `pip install kaggle`, put your API "
        f"token in ~/.kaggle/kaggle.json and run `mlagent-env prepare {competition}` again, or run "
        f"`kaggle competitions download -c {competition} -p {raw}` (or download the zip from the competition's "
        f"Data page) and unzip it, and any zip inside it, into {raw}"
    )


def kaggle_competition(competition: str, raw: Path, layout: str | None = None) -> None:
    """Download a Kaggle competition's files into ``raw`` with the ``kaggle`` package and unzip them
    (zips inside zips too). ``layout`` (e.g. "train.csv and the folder train/ lie directly in RAW")
    is added to every failure message, for users who fetch and extract the files by hand."""

    def unavailable(reason: str) -> DataUnavailable:
        hint = f" When done, {layout}." if layout else ""
        return DataUnavailable(reason + kaggle_instructions(competition, raw) + hint)

    try:
        import kaggle  # noqa: PLC0415  (authenticates on import; raises without credentials)
    except ImportError:
        raise unavailable("the kaggle package is not installed; ") from None
    except Exception as exc:  # kaggle raises OSError/ValueError when the token is missing
        raise unavailable(f"Kaggle credentials are missing ({exc}); ") from None
    raw.mkdir(parents=True, exist_ok=True)
    try:
        kaggle.api.competition_download_files(competition, path=str(raw), quiet=False)
    except Exception as exc:
        raise unavailable(f"Kaggle download failed ({exc}); ") from None
    unzip_all(raw)


def unzip_all(folder: Path, max_rounds: int = 3, keep_archives: bool = False) -> None:
    """Extract every ``.zip`` in ``folder`` in place (zips inside zips too), refusing paths that
    would leave the folder. Downloaded archives are removed once extracted; with
    ``keep_archives`` (a folder the user filled by hand) they stay, and a ``<name>.zip.extracted``
    marker keeps them from being extracted twice."""
    root = folder.resolve()
    for _ in range(max_rounds):
        zips = [z for z in sorted(folder.rglob("*.zip")) if not Path(str(z) + ".extracted").exists()]
        if not zips:
            return
        for zpath in zips:
            dest = zpath.parent
            with zipfile.ZipFile(zpath) as zf:
                for member in zf.namelist():
                    target = (dest / member).resolve()
                    if root != target and root not in target.parents:
                        raise DataUnavailable(f"{zpath.name} holds a path outside the data folder: {member}")
                zf.extractall(dest)
            if keep_archives:
                Path(str(zpath) + ".extracted").touch()
            else:
                zpath.unlink()
