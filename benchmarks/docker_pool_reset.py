"""Sandbox creation from a warm pool against a fresh container (what ``reset`` pays).

  fresh  DockerSandbox(spec): create + start a container, copy the starter files
  pool   DockerSandbox(spec, pool=pool): take a started, cleaned container, copy the starter files

Each creation is followed by one ``exec(["true"])`` (timed separately) and ``close()``; the pool
is given time to refill between iterations so that every pooled creation is a hit, as in a run
where reset comes after a step's work. Writes JSON and a PNG to --out (default runs/benchmarks).

    python benchmarks/docker_pool_reset.py [--image mlagent-runtime:slim] [-n 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from mlagent_env.sandbox.base import SandboxSpec
from mlagent_env.sandbox.docker import DockerSandbox, get_client
from mlagent_env.sandbox.pool import WarmPool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default="mlagent-runtime:slim")
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("--out", type=Path, default=Path("runs/benchmarks"))
    args = ap.parse_args()
    client = get_client()
    tmp = Path(tempfile.mkdtemp(prefix="mlagent-bench-"))
    (tmp / "starter").mkdir()
    (tmp / "starter" / "train.py").write_text("print('hi')\n" * 50)
    (tmp / "public").mkdir()
    (tmp / "public" / "train.csv").write_text("id,x\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10000)))
    spec = SandboxSpec(task_id="bench", starter_dir=tmp / "starter", public_dir=tmp / "public", memory_mb=1024)
    times: dict[str, dict[str, list[float]]] = {
        m: {"create": [], "first_exec": [], "close": []} for m in ("fresh", "pool")
    }
    with WarmPool(size=2, client=client) as pool:
        pool.prewarm(spec, image=args.image)
        for _ in range(args.n):
            for mode in ("fresh", "pool"):
                if mode == "pool":
                    deadline = time.monotonic() + 30
                    while pool.ready_count() < 1 and time.monotonic() < deadline:
                        time.sleep(0.02)
                t0 = time.perf_counter()
                sb = DockerSandbox(spec, image=args.image, client=client, pool=pool if mode == "pool" else None)
                t1 = time.perf_counter()
                assert sb.exec(["true"], 60).ok
                t2 = time.perf_counter()
                sb.close()
                t3 = time.perf_counter()
                times[mode]["create"].append(t1 - t0)
                times[mode]["first_exec"].append(t2 - t1)
                times[mode]["close"].append(t3 - t2)
        hits, misses = pool.hits, pool.misses
    summary = {m: {k: round(statistics.median(v) * 1000, 2) for k, v in d.items()} for m, d in times.items()}
    ratio = statistics.median(times["pool"]["create"]) / statistics.median(times["fresh"]["create"])
    for m, row in summary.items():
        print(f"{m:6s} " + "  ".join(f"{k}_ms={v}" for k, v in row.items()))
    print(f"create pool/fresh = {ratio:.4f}  (x{1 / ratio:.0f} faster); pool hits={hits} misses={misses}")
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"n": args.n, "summary": summary, "pool_over_fresh": ratio, "hits": hits, "misses": misses, "raw": times}
    (args.out / "docker_pool_reset.json").write_text(json.dumps(payload, indent=1))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.boxplot([[t * 1000 for t in times[m]["create"]] for m in ("fresh", "pool")], tick_labels=["fresh", "pool"])
        ax.set_yscale("log")
        ax.set_ylabel("sandbox creation (ms, log)")
        ax.set_title(f"reset: warm pool vs fresh container (n={args.n})")
        fig.tight_layout()
        fig.savefig(args.out / "docker_pool_reset.png", dpi=100)
    except ImportError:
        pass
    print(f"wrote {args.out}/docker_pool_reset.json (+ .png)")


if __name__ == "__main__":
    main()
