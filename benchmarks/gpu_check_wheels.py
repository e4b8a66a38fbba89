"""The wheels that ``benchmarks/gpu_check.sh`` installs offline on the device machine, which has
no package index: ``prepare`` downloads them here, ``check`` runs there after the install.

    python benchmarks/gpu_check_wheels.py prepare            # -> .whl/ (ignored by git), sizes vs 64 MiB
    python benchmarks/gpu_check_wheels.py prepare --with pyarrow --without transformers
    python3 benchmarks/gpu_check_wheels.py check             # on the device: every carried wheel's needs met?

The device (nvidia-h200, Python 3.12, torch 2.11 CUDA) already has transformers 5.17, peft,
accelerate, tokenizers, safetensors, huggingface_hub, pandas, pyarrow, scikit-learn, statsmodels,
matplotlib, PyYAML, tqdm, cloudpickle and the rest of /work/.library/device/KINDS.md's list. What
mlagent needs on top (``WHEELS``): trl and datasets (trl's trainers take ``datasets.Dataset``),
gymnasium, pydantic, a transformers release this project supports (>= 5.24), and the few
dependencies of those that the device lacks or may hold too old. Every wheel is pinned to the
version tested here together.

What stays behind, and why:

* ``pyarrow`` (52.5 MiB for 26.0.1 cp312): ``datasets`` imports it on import and needs >= 24, and
  the device has a pyarrow of its own (its version is not read at no cost). ``check`` says whether
  that one is new enough. If not: the 19.6 MiB of ``WHEELS`` plus pyarrow plus the tree come to
  73.4 MiB, over the limit, so ``prepare --with pyarrow --without transformers`` (60.5 MiB in all)
  carries pyarrow and leaves transformers 5.24 (12.9 MiB) out; the run then uses the device's
  transformers 5.17, older than this project's floor, and its JSON records that version.
* ``torch``, ``accelerate``, ``tokenizers``, ``safetensors``, ``huggingface_hub``: the device's own
  (CUDA) builds; transformers 5.24's floors (tokenizers >= 0.23.1, huggingface_hub >= 1.31,
  safetensors >= 0.8) are below what the device has, and ``check`` proves it there.
* ``docker``, ``ray``, ``kaggle`` and the data extras: no Docker engine, cluster or network there;
  the check uses plain local sandboxes and the offline tasks only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL_DIR = ".whl"
CARRY_LIMIT = 64 * 2**20
"""What may travel to the device: the working tree plus the carried paths (device README)."""

WHEELS: dict[str, tuple[str, str]] = {
    "transformers": ("5.24.0", "the device has 5.17; mlagent needs >= 5.24"),
    "trl": ("1.16.0", "SFTTrainer and GRPOTrainer; not on the device"),
    "datasets": ("5.2.0", "trl's dataset type; not on the device"),
    "dill": ("0.4.1", "datasets"),
    "multiprocess": ("0.70.19", "datasets"),
    "fsspec": ("2026.9.0", "datasets needs <= 2026.9.0 (the device's version is not read)"),
    "peft": ("0.21.2", "LoRA: the version tested here (the device's is not read)"),
    "gymnasium": ("1.4.0", "the envs; not on the device"),
    "farama-notifications": ("0.0.4", "gymnasium"),
    "pydantic": ("2.14.4", "actions, states, task specs; not on the device"),
    "pydantic-core": ("2.50.5", "pydantic (compiled: the cp312 manylinux build)"),
    "annotated-types": ("0.8.0", "pydantic"),
    "typing-inspection": ("0.4.5", "pydantic"),
    "typing-extensions": ("4.16.0", "pydantic needs >= 4.16"),
    "regex": ("2026.11.19", "transformers checks regex >= 2025.10.22 when it is imported"),
    "palmerpenguins": ("0.1.4", "the data of the offline task penguins"),
}
OPTIONAL: dict[str, tuple[str, str]] = {
    "pyarrow": ("26.0.1", "datasets needs >= 24; carry it only when `check` finds the device's older"),
}
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64"]


def tree_bytes(root: Path = ROOT) -> int:
    """Bytes of what travels without carry: tracked files and untracked files git does not ignore."""
    names = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           check=True, capture_output=True).stdout.split(b"\0")
    return sum((root / n.decode()).stat().st_size for n in names if n and (root / n.decode()).is_file())


def prepare(dest: Path, extra: list[str], without: list[str]) -> int:
    wanted = {name: pin for name, pin in WHEELS.items() if name not in without}
    for name in extra:
        if name not in OPTIONAL:
            print(f"--with {name}: not an optional wheel (known: {sorted(OPTIONAL)})", file=sys.stderr)
            return 2
        wanted[name] = OPTIONAL[name]
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):  # one version of each: two stop the install there
        old.unlink()
    specs = [f"{name}=={version}" for name, (version, _) in wanted.items()]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", *[a for p in PLATFORMS for a in ("--platform", p)],
           "--platform", "any", "-d", str(dest), *specs]
    if subprocess.run(cmd).returncode != 0:
        print("pip download failed (see above); the versions are pinned in benchmarks/gpu_check_wheels.py",
              file=sys.stderr)
        return 1
    wheels = sorted(dest.glob("*.whl"))
    total = sum(w.stat().st_size for w in wheels)
    tree = tree_bytes()
    for w in wheels:
        print(f"{w.stat().st_size / 2**20:8.2f} MiB  {w.name}")
    print(f"{total / 2**20:8.2f} MiB  {len(wheels)} wheels in {dest}")
    print(f"{tree / 2**20:8.2f} MiB  the working tree (git ls-files, untracked not ignored)")
    print(f"{(total + tree) / 2**20:8.2f} MiB  together, of the {CARRY_LIMIT / 2**20:.0f} MiB that may travel")
    if total + tree > CARRY_LIMIT:
        print("over the limit: leave an optional wheel out (see this file's docstring)", file=sys.stderr)
        return 1
    return 0


def check(dest: Path) -> int:
    """Every non-extra requirement of every carried wheel, against what this interpreter imports."""
    from importlib import metadata

    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip's own copy
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]

    unmet = []
    for wheel in sorted(dest.glob("*.whl")):
        with zipfile.ZipFile(wheel) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            lines = z.read(meta).decode("utf-8", "replace").splitlines()
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            try:
                have = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                have = None
            if have is None or (req.specifier and not req.specifier.contains(have, prereleases=True)):
                unmet.append(f"{wheel.name}: needs {req}, found {have or 'nothing'}")
    for name in ["torch", "transformers", "trl", "datasets", "peft", "accelerate", "tokenizers", "pyarrow",
                 "gymnasium", "pydantic", "numpy", "pandas", "scikit-learn"]:
        try:
            print(f"{name:14s} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            print(f"{name:14s} MISSING")
    for line in unmet:
        print(f"UNMET {line}")
    print("every carried wheel's requirements are met" if not unmet else
          f"{len(unmet)} requirement(s) unmet: carry a wheel for each (prepare --with NAME, or add it to WHEELS)")
    return 1 if unmet else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("command", choices=["prepare", "check"])
    parser.add_argument("--dest", default=str(ROOT / WHEEL_DIR), help="the wheel folder (default: .whl/)")
    parser.add_argument("--with", dest="extra", action="append", default=[], metavar="NAME",
                        help=f"also an optional wheel: {', '.join(f'{k} ({v[1]})' for k, v in OPTIONAL.items())}")
    parser.add_argument("--without", action="append", default=[], choices=sorted(WHEELS), metavar="NAME",
                        help="leave one of the pinned wheels out (the device's own version is used)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check(Path(args.dest))
    return prepare(Path(args.dest), args.extra, args.without)


if __name__ == "__main__":
    raise SystemExit(main())
