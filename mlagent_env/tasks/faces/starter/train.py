"""Baseline for the faces task: logistic regression on two summaries of each image (mean and spread of its grey levels)."""

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

train = pd.read_csv("data/train.csv", dtype={"id": str})
test = pd.read_csv("data/test.csv", dtype={"id": str})
pixels = [c for c in train.columns if c.startswith("pixel")]


def summaries(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"mean": frame[pixels].mean(axis=1), "std": frame[pixels].std(axis=1)})


X_train, X_valid, y_train, y_valid = train_test_split(
    summaries(train), train["face"], test_size=0.2, random_state=0, stratify=train["face"]
)
model = LogisticRegression(max_iter=1000)
model.fit(X_train, y_train)
print(f"validation ROC-AUC: {roc_auc_score(y_valid, model.predict_proba(X_valid)[:, 1]):.4f}")

model.fit(summaries(train), train["face"])
submission = pd.DataFrame({"id": test["id"], "face": model.predict_proba(summaries(test))[:, 1]})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
