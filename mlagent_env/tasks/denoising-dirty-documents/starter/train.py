"""Baseline for denoising-dirty-documents: a small fully convolutional network trained on random
patches of the (noisy, clean) training pairs, applied to whole test pages.

Expected runtime on the real data (about 115 training pages of 540 x 258/420 px) on 2-4 CPU
cores: about 2-4 minutes, most of it training (6 passes over the training pixels); writing
the per-pixel submission (about 6 million rows) takes under a minute.
"""

import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

SEED = 0
PATCH = 64  # side of the training patches (smaller for smaller pages)
EPOCHS = 6  # one epoch = random patches holding as many pixels as the training pages
BATCH = 16

random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
DATA = Path("data")


def load(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


names = sorted(p.name for p in (DATA / "train").glob("*.png"))
pairs = [(load(DATA / "train" / n), load(DATA / "train_cleaned" / n)) for n in names]
rng = np.random.default_rng(SEED)
order = rng.permutation(len(pairs))
n_valid = max(1, len(pairs) // 10)
valid_pairs = [pairs[i] for i in order[:n_valid]]
train_pairs = [pairs[i] for i in order[n_valid:]]
print(f"{len(train_pairs)} training pages, {len(valid_pairs)} validation pages")


class DenoiseNet(nn.Module):
    """A few 3x3 convolutions that predict a correction added to the noisy page."""

    def __init__(self, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + self.body(x), 0.0, 1.0)


def sample_patches(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    size = min(PATCH, *(min(noisy.shape) for noisy, _ in pairs))
    n_patches = max(BATCH, sum(noisy.size for noisy, _ in pairs) // (size * size))
    xs, ys = [], []
    for page in rng.integers(0, len(pairs), n_patches):
        noisy, clean = pairs[page]
        h, w = noisy.shape
        r, c = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        xs.append(noisy[r : r + size, c : c + size])
        ys.append(clean[r : r + size, c : c + size])
    return torch.from_numpy(np.stack(xs)[:, None]), torch.from_numpy(np.stack(ys)[:, None])


@torch.no_grad()
def predict(model: nn.Module, page: np.ndarray) -> np.ndarray:
    model.eval()
    out = model(torch.from_numpy(page)[None, None].to(device))
    return out[0, 0].cpu().numpy()


model = DenoiseNet().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(EPOCHS):
    model.train()
    x_all, y_all = sample_patches(train_pairs)
    perm = torch.randperm(len(x_all))
    total = 0.0
    for start in range(0, len(perm), BATCH):
        idx = perm[start : start + BATCH]
        x, y = x_all[idx].to(device), y_all[idx].to(device)
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    print(f"epoch {epoch + 1}/{EPOCHS}: train patch RMSE {np.sqrt(total / len(perm)):.4f}")

squared, count = 0.0, 0
for noisy, clean in valid_pairs:
    squared += float(np.sum((predict(model, noisy) - clean) ** 2))
    count += clean.size
print(f"validation RMSE (all pixels of the validation pages): {np.sqrt(squared / count):.5f}")

# one row per pixel of every test page: id = <image>_<row>_<col>, 1-based
parts = []
for path in sorted((DATA / "test").glob("*.png")):
    pred = predict(model, load(path))
    rows, cols = np.indices(pred.shape)
    ids = np.char.add(
        np.char.add(np.char.add(f"{path.stem}_", (rows.ravel() + 1).astype(str)), "_"), (cols.ravel() + 1).astype(str)
    )
    parts.append(pd.DataFrame({"id": ids, "value": np.round(pred.ravel(), 5)}))
submission = pd.concat(parts, ignore_index=True)
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
