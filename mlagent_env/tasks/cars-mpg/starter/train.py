"""Baseline for the cars-mpg task: a depth-2 regression tree on the weight alone."""

import pandas as pd
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeRegressor

train = pd.read_csv("data/train.csv", dtype={"id": str})
test = pd.read_csv("data/test.csv", dtype={"id": str})
features = ["weight"]

X_train, X_valid, y_train, y_valid = train_test_split(train[features], train["mpg"], test_size=0.2, random_state=0)
model = DecisionTreeRegressor(max_depth=2, random_state=0)
model.fit(X_train, y_train)
print(f"validation MAE: {mean_absolute_error(y_valid, model.predict(X_valid)):.3f}")

model.fit(train[features], train["mpg"])
submission = pd.DataFrame({"id": test["id"], "mpg": model.predict(test[features])})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
