"""denoising-dirty-documents: Kaggle's scanned pages with stains (noisy PNG) and their clean versions.

Kaggle's own test images have no public targets, so, like MLE-bench, the test set is a seeded 20%
of the labelled train images: their noisy PNGs go to ``public/test/``, their clean pixels (grey
level / 255) to ``private/answers.csv`` with one row per pixel, id ``<image>_<row>_<col>``
(1-based). The reward and held-back halves of the answers are split by page (``answer_units``),
so that the final score comes from pages the step reward never graded. Every image is renamed to
a random number, consistently in ``train/``, ``train_cleaned/`` and ``test/``.

Raw layout (after unzipping the competition archive and its inner zips)::

    train/<n>.png            noisy training pages (greyscale, 540 px wide, 258 or 420 px high)
    train_cleaned/<n>.png    the same pages, cleaned (same file names)
    test/<n>.png             Kaggle's unlabelled test pages (not used)
    sampleSubmission.csv     Kaggle's sample submission (not used)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "denoising-dirty-documents"
TEST_FRACTION = 0.2
SPLIT_SEED = 20261201
NAME_SEED = 20261202


def download(raw: Path) -> None:
    """The Kaggle route: the competition archive, with its inner zips extracted."""
    kaggle_competition(COMPETITION, raw, layout=f"the folders train/ and train_cleaned/ of PNG files lie directly in {raw}")


LINE_ENDS = np.array([f",{level / 255!r}\n" for level in range(256)], dtype=np.dtypes.StringDType())
"""The end of an answer line for each grey level: ``,<level / 255>`` as Python writes the float."""


def answer_units(ids: pd.Series) -> pd.Series:
    """The page of each answer row (``<page>_<row>_<col>``): the reward and the held-back answers
    are split by page, so that the final score comes from pages the step reward never graded."""
    return ids.str.replace(r"_.*", "", regex=True)


def pixel_ids(name: str, height: int, width: int) -> np.ndarray:
    """``<name>_<row>_<col>`` (1-based) of every pixel of a ``height`` x ``width`` page, row by row."""
    text = np.dtypes.StringDType()
    rows = np.strings.add(np.strings.add(f"{name}_", np.arange(1, height + 1).astype(text)), "_")
    return np.strings.add(rows[:, None], np.arange(1, width + 1).astype(text)[None, :]).ravel()


def prepare(raw: Path, public: Path, private: Path) -> None:
    noisy_dir, clean_dir = raw / "train", raw / "train_cleaned"
    noisy = sorted(p.name for p in noisy_dir.glob("*.png"))
    clean = sorted(p.name for p in clean_dir.glob("*.png"))
    if not noisy or noisy != clean:
        missing = sorted(set(noisy) ^ set(clean))[:5]
        raise DataUnavailable(
            f"{raw}: train/ and train_cleaned/ must hold the same non-empty set of PNG files "
            f"(found {len(noisy)} and {len(clean)}; differing e.g. {missing}); unzip train.zip and train_cleaned.zip again"
        )
    # new names: random numbers without leading zeros, so that `<name>_<row>_<col>` stays unambiguous
    new_names = [str(int(i) + 1) for i in random_ids(len(noisy), seed=NAME_SEED, width=6)]
    frame = pd.DataFrame({"source": noisy, "name": new_names})
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)

    for folder in ("train", "train_cleaned", "test"):
        (public / folder).mkdir()
    for src, name in tqdm(zip(train["source"], train["name"]), total=len(train), desc="train images"):
        shutil.copyfile(noisy_dir / src, public / "train" / f"{name}.png")
        shutil.copyfile(clean_dir / src, public / "train_cleaned" / f"{name}.png")

    # one CSV line per pixel (millions on the real data): written page by page from vectorised text
    header = "id,value\n"
    with open(private / "answers.csv", "w") as answers, open(public / "sample_submission.csv", "w") as sample:
        answers.write(header)
        sample.write(header)
        for src, name in tqdm(zip(test["source"], test["name"]), total=len(test), desc="test images"):
            shutil.copyfile(noisy_dir / src, public / "test" / f"{name}.png")
            with Image.open(clean_dir / src) as img:
                levels = np.asarray(img.convert("L"), dtype=np.uint8)
            ids = pixel_ids(name, *levels.shape)
            answers.write("".join(np.strings.add(ids, LINE_ENDS[levels.ravel()]).tolist()))
            sample.write("".join(np.strings.add(ids, ",1.0\n").tolist()))
