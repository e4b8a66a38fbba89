"""Baseline for statoil-iceberg-classifier-challenge: a small CNN on the two 75 x 75 radar bands
(standardised) plus the incidence angle, trained with random flips; the epoch with the best
validation log loss is used for the test predictions.

Expected runtime on the real data (about 1,280 training images): 1-3 minutes on 2-4 CPU cores
(reading the 160 MB of JSON included).
"""

import json
import random

import numpy as np
import pandas as pd
import torch
from torch import nn

SEED = 0
EPOCHS = 20
BATCH = 32

random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load(path: str) -> pd.DataFrame:
    with open(path, encoding="utf-8") as f:
        return pd.DataFrame(json.load(f))


train = load("data/train.json")
test = load("data/test.json")


def images(frame: pd.DataFrame) -> np.ndarray:
    bands = [np.stack(frame[b].map(np.asarray).to_numpy()).reshape(-1, 75, 75) for b in ("band_1", "band_2")]
    return np.stack(bands, axis=1).astype(np.float32)


def angles(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(frame["inc_angle"], errors="coerce").to_numpy(dtype=np.float32)  # "na" -> NaN


x_train, x_test = images(train), images(test)
mean, std = x_train.mean(axis=(0, 2, 3), keepdims=True), x_train.std(axis=(0, 2, 3), keepdims=True)
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
a_train, a_test = angles(train), angles(test)
a_mean, a_std = np.nanmean(a_train), np.nanstd(a_train) + 1e-6
a_train = np.nan_to_num((a_train - a_mean) / a_std)[:, None]
a_test = np.nan_to_num((a_test - a_mean) / a_std)[:, None]
y_train = train["is_iceberg"].to_numpy(dtype=np.float32)

rng = np.random.default_rng(SEED)
valid_mask = np.zeros(len(train), dtype=bool)
for label in (0, 1):  # stratified 20% validation split
    idx = rng.permutation(np.flatnonzero(y_train == label))
    valid_mask[idx[: max(1, len(idx) // 5)]] = True
print(f"{(~valid_mask).sum()} training images, {valid_mask.sum()} validation images")


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

        self.features = nn.Sequential(block(2, 8), block(8, 16), block(16, 32), block(32, 64))
        self.head = nn.Sequential(nn.Linear(64 + 1, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        return self.head(torch.cat([pooled, angle], dim=1)).squeeze(1)


def tensors(*arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays]


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, a: np.ndarray) -> np.ndarray:
    model.eval()
    out = [torch.sigmoid(model(*tensors(x[i : i + 256], a[i : i + 256]))).cpu().numpy() for i in range(0, len(x), 256)]
    return np.concatenate(out)


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


xt, at, yt = x_train[~valid_mask], a_train[~valid_mask], y_train[~valid_mask]
xv, av, yv = x_train[valid_mask], a_train[valid_mask], y_train[valid_mask]
model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
best_loss, best_state = float("inf"), None
for epoch in range(EPOCHS):
    model.train()
    order = rng.permutation(len(xt))
    for start in range(0, len(order), BATCH):
        idx = order[start : start + BATCH]
        xb = xt[idx]
        if rng.random() < 0.5:
            xb = xb[:, :, :, ::-1]
        if rng.random() < 0.5:
            xb = xb[:, :, ::-1, :]
        x, a, y = tensors(xb, at[idx], yt[idx])
        loss = nn.functional.binary_cross_entropy_with_logits(model(x, a), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    valid_loss = log_loss(yv, predict(model, xv, av))
    print(f"epoch {epoch + 1}/{EPOCHS}: validation log loss {valid_loss:.4f}")
    if valid_loss < best_loss:
        best_loss, best_state = valid_loss, {k: v.clone() for k, v in model.state_dict().items()}
model.load_state_dict(best_state)
print(f"best validation log loss: {best_loss:.5f}")

probabilities = np.clip(predict(model, x_test, a_test), 0.01, 0.99)
submission = pd.DataFrame({"id": test["id"], "is_iceberg": probabilities})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
