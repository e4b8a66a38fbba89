"""Baseline for nomad2018: one LightGBM regressor per target on the tabular columns.

Reads data/train.csv and data/test.csv (the per-material geometry files in data/train/<id>/
and data/test/<id>/ are not used yet), fits log(1 + target), prints the validation RMSLE of each
target and their mean, and writes submission.csv (id,formation_energy_ev_natom,bandgap_energy_ev).
About 10 seconds on one CPU core with the real data (about 2,200 training materials).
"""

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

TARGETS = ["formation_energy_ev_natom", "bandgap_energy_ev"]

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
features = [c for c in test.columns if c != "id"]


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.log1p(y_pred) - np.log1p(y_true)) ** 2)))


def make_model() -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=15, random_state=0, n_jobs=1, verbose=-1)


train_part, valid_part = train_test_split(train, test_size=0.2, random_state=0)
scores = []
for target in TARGETS:
    model = make_model().fit(train_part[features], np.log1p(train_part[target]))
    prediction = np.clip(np.expm1(model.predict(valid_part[features])), 0, None)
    scores.append(rmsle(valid_part[target].to_numpy(), prediction))
    print(f"validation RMSLE {target}: {scores[-1]:.5f}")
print(f"validation mean RMSLE: {np.mean(scores):.5f}")

submission = pd.DataFrame({"id": test["id"]})
for target in TARGETS:
    model = make_model().fit(train[features], np.log1p(train[target]))
    submission[target] = np.clip(np.expm1(model.predict(test[features])), 0, None)
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
