"""DockerSandbox.exec against a raw ``docker exec`` of the same command (same container, user, workdir).

Three ways to run ``argv``, interleaved so that drift hits all alike, N times each:
  cli     ``docker exec -u UID -w WORKSPACE CID argv`` (the docker CLI, a subprocess)
  api     docker-py's low-level exec_create + exec_start + exec_inspect, nothing else
  sandbox DockerSandbox.exec(argv, timeout): wrapper that kills leftovers, deadline, truncation, OOM check

Target: sandbox / cli <= 1.15. Writes JSON and a PNG to --out (default runs/benchmarks).

    python benchmarks/docker_exec_overhead.py [--image mlagent-runtime:slim] [-n 40]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from mlagent_env.sandbox.base import SandboxSpec
from mlagent_env.sandbox.docker import WORKSPACE_DIR, DockerSandbox, get_client

COMMANDS = {"true": ["true"], "python": ["python", "-c", "print(1)"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default="mlagent-runtime:slim")
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    args = ap.parse_args()
    client = get_client()
    docker_cli = shutil.which("docker")
    sb = DockerSandbox(SandboxSpec(task_id="bench", memory_mb=1024), image=args.image, client=client)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        cid, user = sb.container_id, sb._user

        def run_cli(argv: list[str]) -> None:
            subprocess.run(
                [docker_cli, "exec", "-u", user, "-w", WORKSPACE_DIR, cid, *argv], capture_output=True, check=True
            )

        def run_api(argv: list[str]) -> None:
            eid = client.api.exec_create(cid, argv, user=user, workdir=WORKSPACE_DIR)["Id"]
            client.api.exec_start(eid)
            assert client.api.exec_inspect(eid)["ExitCode"] == 0

        def run_sandbox(argv: list[str]) -> None:
            assert sb.exec(argv, 60).exit_code == 0

        ways = {"sandbox": run_sandbox, "api": run_api}
        if docker_cli:
            ways["cli"] = run_cli
        for name, argv in COMMANDS.items():
            times: dict[str, list[float]] = {w: [] for w in ways}
            for fn in ways.values():  # warm-up
                fn(argv)
            for _ in range(args.n):
                for w, fn in ways.items():
                    t0 = time.perf_counter()
                    fn(argv)
                    times[w].append(time.perf_counter() - t0)
            results[name] = times
    finally:
        sb.close()

    summary = {}
    for name, times in results.items():
        med = {w: statistics.median(v) for w, v in times.items()}
        row = {f"{w}_ms": round(m * 1000, 2) for w, m in med.items()}
        row["sandbox/api"] = round(med["sandbox"] / med["api"], 3)
        if "cli" in med:
            row["sandbox/cli"] = round(med["sandbox"] / med["cli"], 3)
        summary[name] = row
        print(f"{name:8s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "docker_exec_overhead.json").write_text(
        json.dumps({"n": args.n, "summary": summary, "raw": results}, indent=1)
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4))
        for ax, (name, times) in zip(axes if len(results) > 1 else [axes], results.items()):
            ax.boxplot([[t * 1000 for t in v] for v in times.values()], tick_labels=list(times))
            ax.set_title(f"exec {name!r} (n={args.n})")
            ax.set_ylabel("ms")
        fig.tight_layout()
        fig.savefig(args.out / "docker_exec_overhead.png", dpi=100)
    except ImportError:
        pass
    print(f"wrote {args.out}/docker_exec_overhead.json (+ .png)")


if __name__ == "__main__":
    main()
