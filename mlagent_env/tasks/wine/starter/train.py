"""Baseline for the wine task: a decision stump (depth-1 tree) on all features."""

import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

train = pd.read_csv("data/train.csv", dtype={"id": str})
test = pd.read_csv("data/test.csv", dtype={"id": str})
features = [c for c in train.columns if c not in ("id", "cultivar")]

X_train, X_valid, y_train, y_valid = train_test_split(
    train[features], train["cultivar"], test_size=0.2, random_state=0, stratify=train["cultivar"]
)
model = DecisionTreeClassifier(max_depth=1, random_state=0)
model.fit(X_train, y_train)
print(f"validation accuracy: {accuracy_score(y_valid, model.predict(X_valid)):.4f}")

model.fit(train[features], train["cultivar"])
submission = pd.DataFrame({"id": test["id"], "cultivar": model.predict(test[features])})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
