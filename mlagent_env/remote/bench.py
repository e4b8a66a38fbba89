"""The benchmark's Ray backend: each episode's env is a :class:`RemoteEnv` on the cluster.

The benchmark's own threads (``parallel`` of them) play the episodes, so the policy is asked from
the driver as with local envs, and results, trajectories, report and plots are written by the
same code. Where each env actor ran is appended to ``ray/placements.jsonl`` in the output folder
(``placed`` when an actor starts on a node, ``lost`` when it died there and the episode moved on).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlagent_env.remote.cluster import connect
from mlagent_env.remote.env import RemoteEnv

if TYPE_CHECKING:
    from mlagent_env.bench import Benchmark

_log_lock = threading.Lock()


def placements_path(out: str | Path) -> Path:
    return Path(out) / "ray" / "placements.jsonl"


def read_placements(out: str | Path) -> list[dict[str, Any]]:
    path = placements_path(out)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def remote_env(bench: Benchmark, task_id: str, run: int, env_kwargs: dict[str, Any]) -> RemoteEnv:
    """The env of episode ``run`` of ``task_id``, on the benchmark's Ray cluster."""
    assert bench.config.ray_address
    connect(bench.config.ray_address)
    log = placements_path(bench.out)
    log.parent.mkdir(parents=True, exist_ok=True)

    def note(node_id: str, event: str) -> None:
        row = {"task_id": task_id, "run": run, "node_id": node_id, "event": event, "time": round(time.time(), 3)}
        with _log_lock, open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    return RemoteEnv.spawn(task_id, env_kwargs, resource=bench.config.ray_resource, on_event=note)
