"""The Ray backend on a real multi-node cluster on this machine (a head and two workers, each
with its own custom resource, loopback only): benchmark episodes land on both workers, match the
local backend's output, survive the loss of a node and a killed driver. Skipped without the ray
extra, unless ``MLAGENT_REQUIRE_RAY=1`` (CI), where a missing Ray is a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark
from mlagent_env.trajectory import read_records
from task_support import start_state

REPO = Path(__file__).resolve().parent.parent


def test_base_install_does_not_import_ray() -> None:
    code = ("import sys, mlagent_env, mlagent_env.bench, mlagent_env.cli, mlagent_train, mlagent_train.cli, "
            "mlagent_train.rl; assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


def test_env_actors_ask_for_the_envs_resources_and_gpus_only_when_given_some() -> None:
    from mlagent_env.remote.resources import actor_resources

    plain = actor_resources("digits", {})
    assert (plain.num_cpus, plain.memory_mb, plain.num_gpus, plain.custom) == (1.0, 2048, 0, {})  # the task's memory_mb
    sized = actor_resources("digits", {"cpus": 2, "memory_mb": 512, "gpus": 1}, resource="mlagent_sandbox")
    assert sized.needs() == {"CPU": 2.0, "memory": 512.0 * (1 << 20), "GPU": 1.0, "mlagent_sandbox": 1.0}
    assert actor_resources("digits", {"gpus": "all"}).num_gpus == 0  # a device list is not a count Ray can place


def test_without_ray_the_user_is_told_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlagent_env.remote.cluster import RayUnavailable, connect

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(RayUnavailable, match=r'pip install "mlagent\[ray\]"'):
        connect("auto")


try:
    import ray  # noqa: F401
except ImportError:
    if os.environ.get("MLAGENT_REQUIRE_RAY") == "1":
        raise
    pytest.skip("the ray extra is not installed (pip install 'mlagent[ray]')", allow_module_level=True)

from mlagent_env.remote.bench import read_placements  # noqa: E402
from mlagent_env.remote.local_cluster import local_cluster  # noqa: E402

@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # one sandbox per worker: two envs at once are one on each
    with local_cluster([{"mlagent_sandbox": 1, "node_a": 1}, {"mlagent_sandbox": 1, "node_b": 1}]) as (c, workers):
        yield c, workers


def _config(runs: int, parallel: int, data_dir: Path, **kw: Any) -> BenchConfig:
    return BenchConfig(tasks=["digits"], policy=PolicySpec.parse("baseline"), runs=runs, parallel=parallel,
                       max_steps=10, sandbox="local", allow_readable_answers=True, data_dir=str(data_dir), **kw)


def _comparable(out: Path) -> Any:
    """What the two backends must agree on: results without timings, every trajectory's steps."""
    results = json.loads((out / "results.json").read_text())
    for r in results:
        for key in ("policy_s", "env_s"):
            r.pop(key)
    steps = {p.name: [(r.step, r.reply, r.action, r.valid, r.reward, r.reward_kind, r.metric, r.final_score)
                      for r in read_records(p)]
             for p in sorted((out / "trajectories" / "digits").glob("*.jsonl"))}
    return results, steps


def _assert_each_episode_once(out: Path, runs: int) -> None:
    for k in range(runs):
        records = read_records(out / "trajectories" / "digits" / f"run-{k}.jsonl")
        assert len({r.episode_id for r in records}) == 1
        assert [r.step for r in records] == list(range(1, len(records) + 1))
        assert records[-1].terminated


@pytest.mark.slow
def test_bench_on_two_nodes_matches_the_local_backend(cluster: Any, data_dir: Path, tmp_path: Path) -> None:
    _, workers = cluster
    remote = Benchmark(_config(2, 2, data_dir, ray_address="auto", ray_resource="mlagent_sandbox"), tmp_path / "ray")
    remote.run(progress=False)
    placed = {p["node_id"] for p in read_placements(tmp_path / "ray") if p["event"] == "placed"}
    assert placed == {w.node_id for w in workers}  # both workers ran episodes, the head none

    local = Benchmark(_config(2, 2, data_dir), tmp_path / "local")
    local.run(progress=False)
    assert _comparable(tmp_path / "ray") == _comparable(tmp_path / "local")
    for name in ("results.md", "plots/scores.png", "plots/rewards.png", "config.json"):
        assert (tmp_path / "ray" / name).exists()
    assert json.loads((tmp_path / "ray" / "config.json").read_text()) == json.loads(
        (tmp_path / "local" / "config.json").read_text())  # same identity: either backend resumes the other


@pytest.mark.slow
def test_a_lost_node_moves_its_episodes_elsewhere(cluster: Any, data_dir: Path, tmp_path: Path) -> None:
    c, workers = cluster
    doomed = c.add_node(num_cpus=2, resources={"mlagent_sandbox": 1}, memory=8192 << 20, node_ip_address="127.0.0.1")
    out = tmp_path / "bench"
    bench = Benchmark(_config(3, 3, data_dir, ray_address="auto", ray_resource="mlagent_sandbox"), out)
    failure: list[BaseException] = []

    def play() -> None:
        try:
            bench.run(progress=False)
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)

    thread = threading.Thread(target=play)
    thread.start()
    deadline = time.monotonic() + 120
    while not any(p["node_id"] == doomed.node_id for p in read_placements(out)):
        assert time.monotonic() < deadline and thread.is_alive(), "no episode was placed on the third node"
        time.sleep(0.05)
    c.remove_node(doomed)
    thread.join(timeout=240)
    assert not thread.is_alive() and not failure, failure
    events = read_placements(out)
    lost = [p for p in events if p["event"] == "lost"]
    assert lost and all(p["node_id"] == doomed.node_id for p in lost)
    for p in lost:  # each interrupted episode went on on a live worker
        later = [e for e in events if (e["task_id"], e["run"]) == (p["task_id"], p["run"]) and e["time"] >= p["time"]
                 and e["event"] == "placed"]
        assert later and later[-1]["node_id"] in {w.node_id for w in workers}
    results = json.loads((out / "results.json").read_text())
    assert results[0]["runs"] == 3 and results[0]["errors"] == 0
    _assert_each_episode_once(out, 3)


@pytest.mark.slow
def test_a_killed_driver_resumes_with_the_same_command(cluster: Any, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    cmd = [sys.executable, "-m", "mlagent_env.cli", "--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "baseline",
           "--runs", "2", "--parallel", "1", "--max-steps", "10", "--sandbox", "local", "--allow-readable-answers", "true", "--ray-address", "auto",
           "--output_dir", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = out / "episodes" / "digits" / "run-0.json"
    deadline = time.monotonic() + 120
    while not first.exists():
        assert time.monotonic() < deadline and driver.poll() is None, "the driver finished no episode"
        time.sleep(0.05)
    driver.kill()
    driver.wait()
    done_before = sorted(p.name for p in (out / "episodes" / "digits").glob("*.json"))
    assert len(done_before) < 2
    subprocess.run(cmd, env=env, check=True, timeout=240, stdout=subprocess.DEVNULL)
    replayed = [p["run"] for p in read_placements(out) if p["event"] == "placed"]
    assert replayed.count(0) == 1  # the finished episode was not played again
    results = json.loads((out / "results.json").read_text())
    assert results[0]["runs"] == 2
    _assert_each_episode_once(out, 2)


# ---------------------------------------------------------------------- RL rollouts
@pytest.mark.slow
def test_rl_replies_run_on_both_workers_each_state_sent_once(cluster: Any, data_dir: Path) -> None:
    from mlagent_env import actions as A
    from mlagent_train.executor import Executor
    from mlagent_train.ray_executor import RayExecutor

    _, workers = cluster
    state = start_state(data_dir)
    run = A.ExecuteScript(script_name="train.py").to_reply()
    replies = [run, "not an action", run, A.ListFiles(dir_path=".").to_reply()]
    with RayExecutor(address="auto", resource="mlagent_sandbox", sandbox="local", data_dir=str(data_dir),
                     num_sandboxes=2) as ex:
        assert isinstance(ex, Executor)
        ex.warm_up(["digits"])
        puts: list[int] = []
        put = ex.ray.put
        ex.ray.put = lambda value: (puts.append(len(value)), put(value))[1]  # type: ignore[method-assign]
        try:
            scored = ex.run([state] * 4 + ['{"task_id": "digits", "workspace": "???"}'], replies + [run])
        finally:
            ex.ray.put = put  # type: ignore[method-assign]
        assert set(ex.placements) == {w.node_id for w in workers}
        assert ex.answers_readable  # plain local sandboxes
        starts = ex.begin(["digits", "digits"], [1, 2])
        episode = ex.run([s.state for s in starts], [run, run], keep_state=True)
    assert len(puts) == 2  # the shared state once, the corrupt one once: not once per reply
    assert [s.reward_kind for s in scored] == ["metric", "format_error", "metric", "non_edit", "error"]
    assert scored[0].reward == scored[2].reward and scored[4].error
    assert all(e.reward_kind == "metric" and e.next_state and e.next_messages for e in episode)


@pytest.mark.slow
def test_rl_replies_of_a_lost_node_are_executed_again_once(cluster: Any, data_dir: Path) -> None:
    from mlagent_env import actions as A
    from mlagent_train.ray_executor import RayExecutor

    c, workers = cluster
    doomed = c.add_node(num_cpus=2, resources={"mlagent_sandbox": 1}, memory=8192 << 20, node_ip_address="127.0.0.1")
    state = start_state(data_dir, {"nap.py": "import time\ntime.sleep(4)\nprint('rested')\n"})
    nap = A.ExecuteScript(script_name="nap.py").to_reply()
    with RayExecutor(address="auto", resource="mlagent_sandbox", sandbox="local", data_dir=str(data_dir),
                     num_sandboxes=3) as ex:
        ex.warm_up(["digits"])  # three actors, one on each worker
        scored: list[Any] = []
        thread = threading.Thread(target=lambda: scored.extend(ex.run([state] * 3, [nap] * 3)))
        thread.start()
        time.sleep(2.0)  # the three 4 s naps are running
        c.remove_node(doomed)
        thread.join(timeout=180)
        assert not thread.is_alive()
        assert ex.lost_replies >= 1 and doomed.node_id not in ex.placements
    assert len(scored) == 3 and all(s.reward_kind == "non_edit" and "rested" in s.observation for s in scored)


@pytest.mark.slow
def test_rl_a_reply_past_its_own_timeout_on_a_remote_actor_is_corner_case(cluster: Any, data_dir: Path) -> None:
    """The same per-reply limit as the local executor: counted from the reply's own start, the
    hung reply is scored corner_case and the quick one beside it is not held up."""
    from mlagent_env import actions as A
    from mlagent_train.ray_executor import RayExecutor

    state = start_state(data_dir, {"hang.py": "import time\ntime.sleep(120)\n"})
    hang = A.ExecuteScript(script_name="hang.py").to_reply()
    with RayExecutor(address="auto", resource="mlagent_sandbox", sandbox="local", data_dir=str(data_dir),
                     num_sandboxes=2, timeout_s=3.0, env_kwargs={"exec_timeout_s": 2.0}) as ex:
        ex.warm_up(["digits"])
        t0 = time.monotonic()
        hung, quick = ex.run([state, state], [hang, A.ListFiles(dir_path=".").to_reply()])
        assert time.monotonic() - t0 < 60
    assert hung.reward_kind == "corner_case" and hung.reward == 0.5
    assert quick.reward_kind == "non_edit"
