"""Baseline for the breast-cancer task: standardised logistic regression on two features."""

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

train = pd.read_csv("data/train.csv", dtype={"id": str})
test = pd.read_csv("data/test.csv", dtype={"id": str})
features = ["mean_texture", "mean_smoothness"]

X_train, X_valid, y_train, y_valid = train_test_split(
    train[features], train["malignant"], test_size=0.2, random_state=0, stratify=train["malignant"]
)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)
print(f"validation ROC-AUC: {roc_auc_score(y_valid, model.predict_proba(X_valid)[:, 1]):.4f}")

model.fit(train[features], train["malignant"])
submission = pd.DataFrame({"id": test["id"], "malignant": model.predict_proba(test[features])[:, 1]})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
