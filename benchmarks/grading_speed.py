"""Grading a denoising-dirty-documents-sized submission (~5.8 M rows) against reading its CSV.

    python benchmarks/grading_speed.py [--images 26] [--repeats 3]

Synthetic answers shaped like the task's (``<image>_<row>_<col>`` ids, pixel values in [0, 1])
are split into reward and held-back rows as the env does; the submission covers every test id.
Measured in the same run: reading the CSV alone (pandas), then grading it on the reward rows
with the answers prepared once (``AnswerKey``/``AnswerSplit``, what the env does per step), and
with the answers given as a DataFrame (validated again on every call). Prints seconds and the
ratio of each to the CSV read (median of ``--repeats``); the CPU seconds of this process beside
them show how much of the wall time a loaded machine added.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks import get_task
from mlagent_env.tasks.grading import AnswerKey, grade, read_csv_submission

ROWS, COLS = 420, 540


CPU: dict[str, float] = {}


def _timed(name: str, fn: object, repeats: int) -> tuple[float, object]:
    times, cpu, value = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[name] = statistics.median(cpu)
    return statistics.median(times), value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=26, help="images of 420 x 540 pixels (26: 5.9 M rows)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = get_task("denoising-dirty-documents").spec
    rng = np.random.default_rng(0)
    img, row, col = np.meshgrid(np.arange(1, args.images + 1), np.arange(1, ROWS + 1), np.arange(1, COLS + 1),
                                indexing="ij")
    ids = pd.Series(img.ravel().astype(str)).str.cat([pd.Series(row.ravel().astype(str)),
                                                      pd.Series(col.ravel().astype(str))], sep="_")
    answers = pd.DataFrame({"id": ids, "value": rng.random(len(ids))})
    reward = answers.sample(frac=0.5, random_state=0).sort_index()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "submission.csv"
        pd.DataFrame({"id": ids, "value": np.clip(answers["value"] + rng.normal(0, 0.05, len(ids)), 0, 1)}).to_csv(
            path, index=False)
        size_mb = path.stat().st_size / 1e6
        read_s, _ = _timed("read", lambda: pd.read_csv(path), args.repeats)
        submission = read_csv_submission(path, spec)
        prepare_s, (key, split) = _timed("prepare", lambda: (k := AnswerKey.build(spec, answers), k.split(reward)), 1)
        prepared_s, score = _timed("prepared", lambda: grade(spec, submission, split), args.repeats)
        fresh_s, fresh = _timed("fresh", lambda: grade(spec, submission, reward, ids.tolist()), 1)
    assert abs(float(score) - float(fresh)) < 1e-12  # type: ignore[arg-type]
    print(f"{len(ids):,} rows, {size_mb:.0f} MB CSV; rmse on the reward rows {score:.5f}")
    print("                                      wall s   ratio   cpu s")
    rows = [("read CSV (pandas)", "read", read_s), ("prepare answers once (key + split)", "prepare", prepare_s),
            ("grade, answers prepared once", "prepared", prepared_s), ("grade, answers as a DataFrame", "fresh", fresh_s)]
    for label, name, wall in rows:
        note = "   (target <= 3 s)" if name == "prepared" else ""
        print(f"{label:<36} {wall:7.2f}   {wall / read_s:5.2f}x  {CPU[name]:6.2f}{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
