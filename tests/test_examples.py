"""The examples run as shipped: the quickstart script and every code cell of the notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_script(data_dir: Path) -> None:
    env = dict(os.environ, MLAGENT_DATA_DIR=str(data_dir))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "final score on the held-back rows: 0.9" in r.stdout
    assert "resumed at step 2" in r.stdout


def test_quickstart_notebook(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import matplotlib

    matplotlib.use("Agg")  # what a headless kernel has; in Jupyter the figure shows inline
    monkeypatch.setenv("MLAGENT_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)
    nb = json.loads((ROOT / "examples" / "quickstart.ipynb").read_text())
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "quickstart.ipynb", "exec"), namespace)  # noqa: S102
    assert namespace["info"]["final_score"] > 0.9
    ax = namespace["ax"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "unified reward" and len(ax.patches) == 7
    assert not list(tmp_path.iterdir())  # the notebook writes nothing where it runs
