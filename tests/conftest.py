from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # shared test helpers (task_support, docker_support)

from docker_support import docker_client, docker_sandbox, slim_image, task_dirs  # noqa: E402,F401  (shared fixtures)

REQUIRE_BWRAP = "MLAGENT_REQUIRE_BWRAP"
"""Set to 1 (CI): a test skipped for want of bubblewrap fails instead."""

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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Under MLAGENT_REQUIRE_BWRAP=1 a skip for want of bubblewrap is a failure, whichever test skips."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get(REQUIRE_BWRAP) == "1" and "bubblewrap" in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"{REQUIRE_BWRAP}=1 but this test was skipped: {report.longrepr}"
    return None
