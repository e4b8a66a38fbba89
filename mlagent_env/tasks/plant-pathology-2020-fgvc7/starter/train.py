"""Baseline for plant pathology: a small CNN on photos shrunk to 64x64, 10 epochs.

Reads data/train.csv, data/test.csv and the photos in data/images/, treats the four columns as
one 4-class label (each training photo has exactly one), holds out 10% of the training
photos for validation, prints the validation mean column-wise ROC-AUC and writes
submission.csv (image_id + the predicted probability of each of the four columns).
Expected runtime on the full data (about 1,640 training photos of 2048x1365): about 1-2
minutes on a CPU core (about 15 s of it loading the photos); much less on a GPU.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score
from torch import nn

CLASSES = ["healthy", "multiple_diseases", "rust", "scab"]
EPOCHS = 10
BATCH_SIZE = 32
IMAGE_SIZE = 64
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)


def load_image(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        img.draft("RGB", (IMAGE_SIZE, IMAGE_SIZE))  # fast JPEG decoding at a reduced scale
        return np.asarray(img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))


def load_images(ids) -> torch.Tensor:
    """uint8 tensor (N, 3, IMAGE_SIZE, IMAGE_SIZE) of data/images/<id>.jpg."""
    arrays = [load_image(Path("data/images") / f"{i}.jpg") for i in ids]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x.float() / 255.0 - 0.5) / 0.25


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers, channels = [], 3
        for width in (16, 32, 64, 128):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(channels, len(CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    out = [torch.softmax(model(normalise(x[i : i + 128]).to(device)), 1).cpu() for i in range(0, len(x), 128)]
    return torch.cat(out).numpy()


def mean_column_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean ROC-AUC over the columns that hold both classes (a small split may lack one)."""
    scores = [roc_auc_score(y[:, k], p[:, k]) for k in range(y.shape[1]) if 0 < y[:, k].sum() < len(y)]
    return float(np.mean(scores)) if scores else float("nan")


train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
print(f"loading {len(train)} training and {len(test)} test photos")
x_all = load_images(train["image_id"])
y_onehot = train[CLASSES].to_numpy()
y_all = torch.tensor(y_onehot.argmax(1), dtype=torch.long)
x_test = load_images(test["image_id"])

perm = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(0))
n_valid = max(len(y_all) // 10, 1)
valid_idx, train_idx = perm[:n_valid], perm[n_valid:]
x_train, y_train, x_valid = x_all[train_idx], y_all[train_idx], x_all[valid_idx]

model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(EPOCHS):
    model.train()
    order = torch.randperm(len(y_train))
    total = 0.0
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        inputs = normalise(x_train[batch]).to(device)
        if torch.rand(1).item() < 0.5:
            inputs = inputs.flip(3)  # random horizontal flip of the batch
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), y_train[batch].to(device))
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    print(f"epoch {epoch + 1}: train loss {total / len(y_train):.4f}")

print(f"validation mean column ROC-AUC: {mean_column_auc(y_onehot[valid_idx.numpy()], predict(model, x_valid)):.4f}")

submission = pd.DataFrame(predict(model, x_test), columns=CLASSES)
submission.insert(0, "image_id", test["image_id"])
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
