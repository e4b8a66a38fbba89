from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # shared test helpers (task_support, docker_support)

from docker_support import docker_client, docker_sandbox, slim_image, task_dirs  # noqa: E402,F401  (shared fixtures)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with the offline tasks prepared once per test session."""
    from mlagent_env.tasks import get_task
    from mlagent_env.tasks.data import prepare_task

    root = tmp_path_factory.mktemp("mlagent-data")
    for task_id in ("digits", "diabetes", "breast-cancer"):
        prepare_task(get_task(task_id), root)
    return root


@pytest.fixture(autouse=True)
def _isolated_data_root(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's ~/.cache/mlagent from tests."""
    if "MLAGENT_DATA_DIR" not in os.environ:
        monkeypatch.setenv("MLAGENT_DATA_DIR", str(tmp_path_factory.getbasetemp() / "default-data-root"))
