"""Preparation time of denoising-dirty-documents at the real size, against reading its answers.

    python benchmarks/prepare_speed.py [--train-pages 144] [--out runs/benchmarks]

The task's fixture is built at the real scale (144 labelled pages of 540 px x 258 or 420 px,
29 of them test pages: about 5.8 M answer rows, one per pixel; synthetic pages, not Kaggle's),
then prepared with ``prepare_task`` (PNG decoding, the per-pixel answer table, the checks, the
answer split by page, checksums). The baseline, measured in the same run on the same files, is
one ``pandas.read_csv`` of the prepared ``private/answers.csv``: the least that any preparation
writing that table and checking it must spend. Prints both times and their ratio, and writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task

TASK = "denoising-dirty-documents"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-pages", type=int, default=144, help="labelled pages (the real data has 144)")
    parser.add_argument("--out", default="runs/benchmarks", help="folder for prepare_speed.json")
    args = parser.parse_args()

    task = get_task(TASK)
    spec = importlib.util.spec_from_file_location("_denoising_fixture", task.root / "fixture.py")
    assert spec and spec.loader
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)

    with tempfile.TemporaryDirectory() as tmp:
        raw, root = Path(tmp) / "raw", Path(tmp) / "root"
        start = time.perf_counter()
        fixture.make_fixture(raw, n_train=args.train_pages, n_test=0, width=540, heights=(258, 420, 420))
        print(f"fixture: {args.train_pages} pages in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        paths = prepare_task(task, root, raw_dir=raw)
        prepare_s = time.perf_counter() - start

        test_pages = len(list((paths.public / "test").glob("*.png")))
        start = time.perf_counter()
        answers = pd.read_csv(paths.answers)
        read_s = time.perf_counter() - start

    result = {
        "task": TASK,
        "answer_rows": len(answers),
        "test_pages": test_pages,
        "prepare_s": round(prepare_s, 2),
        "baseline_read_csv_s": round(read_s, 2),
        "ratio": round(prepare_s / read_s, 2),
    }
    print(
        f"{TASK}: {result['answer_rows']:,} answer rows from {result['test_pages']} test pages; "
        f"prepare {prepare_s:.1f} s, baseline read_csv of the answers {read_s:.1f} s, ratio {prepare_s / read_s:.1f}"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prepare_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'prepare_speed.json'}")


if __name__ == "__main__":
    main()
