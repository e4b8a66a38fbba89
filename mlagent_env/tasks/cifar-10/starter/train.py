"""Baseline for CIFAR-10: a small LeNet-style CNN trained for 5 epochs with SGD.

Reads data/train_images.npy, data/train.csv, data/test_images.npy and data/test.csv, holds out
10% of the training images for validation, prints the validation accuracy after every epoch and
writes submission.csv (id, label) for every test image.
Expected runtime on the full data (50,000 training images): about 1-2 minutes on a CPU core,
seconds on a GPU.
"""

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 0.1
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float (N, 3, 32, 32), each channel normalised to [-1, 1]."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + 1000].to(device)).argmax(1).cpu() for i in range(0, len(x), 1000)])


train = pd.read_csv("data/train.csv", dtype={"id": str})
test = pd.read_csv("data/test.csv", dtype={"id": str})
x_all = to_tensor(np.load("data/train_images.npy"))
y_all = torch.tensor(train["label"].to_numpy(), dtype=torch.long)
x_test = to_tensor(np.load("data/test_images.npy"))

perm = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(0))
n_valid = len(y_all) // 10
valid_idx, train_idx = perm[:n_valid], perm[n_valid:]
x_train, y_train, x_valid, y_valid = x_all[train_idx], y_all[train_idx], x_all[valid_idx], y_all[valid_idx]

model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
for epoch in range(EPOCHS):
    model.train()
    order = torch.randperm(len(y_train))
    running_loss = 0.0
    for start in range(0, len(order), BATCH_SIZE):
        batch = order[start : start + BATCH_SIZE]
        inputs, labels = x_train[batch].to(device), y_train[batch].to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * len(batch)
    train_acc = (predict(model, x_train) == y_train).float().mean().item()
    valid_acc = (predict(model, x_valid) == y_valid).float().mean().item()
    print(f"epoch {epoch + 1}: loss {running_loss / len(y_train):.4f}, train accuracy {train_acc:.4f}, validation accuracy {valid_acc:.4f}")

print(f"validation accuracy: {valid_acc:.4f}")
submission = pd.DataFrame({"id": test["id"], "label": predict(model, x_test).numpy()})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
