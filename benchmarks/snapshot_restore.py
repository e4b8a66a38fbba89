"""Snapshot + restore of a 50 MB workspace, Docker and local backends (target: under 1 s).

The workspace holds 40 MB in 8 binary files (model checkpoints), 10 MB in 1000 small files
(features, logs), and the starter script. One measurement is snapshot() followed by restore()
of that archive into the same sandbox; the median of -n repeats is reported. Writes JSON and
a PNG to --out (default runs/benchmarks).

    python benchmarks/snapshot_restore.py [--image mlagent-runtime:slim] [-n 7] [--backends docker,local]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from mlagent_env.sandbox.base import SandboxSpec


def fill(sb: Any) -> int:
    total = 0
    for i in range(8):
        data = os.urandom(5 * 1024 * 1024)
        sb.write_file(f"checkpoints/model_{i}.bin", data)
        total += len(data)
    for i in range(1000):
        data = os.urandom(10 * 1024)
        sb.write_file(f"features/part_{i // 100}/f_{i}.npy", data)
        total += len(data)
    sb.write_file("train.py", b"print('hi')\n")
    return total


def make(backend: str, image: str) -> Any:
    spec = SandboxSpec(task_id="bench", memory_mb=1024)
    if backend == "docker":
        from mlagent_env.sandbox.docker import DockerSandbox

        return DockerSandbox(spec, image=image)
    from mlagent_env.sandbox.local import LocalSandbox

    return LocalSandbox(spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default="mlagent-runtime:slim")
    ap.add_argument("-n", type=int, default=7)
    ap.add_argument("--backends", default="docker,local")
    ap.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    ap.add_argument(
        "--root", default=None, help="folder for the workspaces (MLAGENT_WORKSPACE_ROOT; default the temp dir)"
    )
    args = ap.parse_args()
    if args.root:
        os.environ["MLAGENT_WORKSPACE_ROOT"] = args.root
    results: dict[str, dict[str, Any]] = {}
    print(
        f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; workspace root: {args.root or 'temp dir'}"
    )
    for backend in args.backends.split(","):
        sb = make(backend, args.image)
        try:
            size = fill(sb)
            snap, rest = [], []
            for _ in range(args.n):
                t0 = time.perf_counter()
                archive = sb.snapshot()
                t1 = time.perf_counter()
                sb.restore(archive)
                t2 = time.perf_counter()
                snap.append(t1 - t0)
                rest.append(t2 - t1)
            assert len(sb.read_file("checkpoints/model_3.bin")) == 5 * 1024 * 1024
            if backend == "docker":
                assert sb.exec(["sh", "-c", "ls features/part_9 | wc -l"], 60).stdout.strip() == "100"
        finally:
            sb.close()
        total = [a + b for a, b in zip(snap, rest)]
        results[backend] = {
            "workspace_mb": round(size / 1e6, 1),
            "archive_mb": round(len(archive) / 1e6, 1),
            "snapshot_s": round(statistics.median(snap), 3),
            "restore_s": round(statistics.median(rest), 3),
            "total_s": round(statistics.median(total), 3),
            "raw_total_s": total,
        }
        r = results[backend]
        print(
            f"{backend:6s} workspace={r['workspace_mb']} MB  snapshot={r['snapshot_s']} s  restore={r['restore_s']} s  total={r['total_s']} s"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"n": args.n, "root": args.root, "loadavg": os.getloadavg()[0], "results": results}
    (args.out / "snapshot_restore.json").write_text(json.dumps(payload, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        names = list(results)
        ax.bar(names, [results[b]["snapshot_s"] for b in names], label="snapshot")
        ax.bar(
            names,
            [results[b]["restore_s"] for b in names],
            bottom=[results[b]["snapshot_s"] for b in names],
            label="restore",
        )
        ax.axhline(1.0, color="red", linestyle="--", label="target 1 s")
        ax.set_ylabel("seconds (median)")
        ax.set_title("snapshot + restore of a 50 MB workspace")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.out / "snapshot_restore.png", dpi=100)
    except ImportError:
        pass
    print(f"wrote {args.out}/snapshot_restore.json (+ .png)")


if __name__ == "__main__":
    main()
