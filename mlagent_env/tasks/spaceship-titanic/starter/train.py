"""Baseline for Spaceship Titanic: logistic regression on one-hot and numeric passenger columns.

Reads data/train.csv and data/test.csv, prints the validation accuracy, and writes
submission.csv (PassengerId,Transported). About 5 seconds on one CPU core with the real data
(about 7,000 training passengers).
"""

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CATEGORICAL = ["HomePlanet", "CryoSleep", "Destination", "VIP", "Deck", "Side"]
NUMERIC = ["Age", "RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck"]


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's inputs: Cabin ("deck/num/side") split into Deck and Side, missing categories
    as their own value "missing"."""
    out = frame.copy()
    cabin = out["Cabin"].str.split("/", expand=True).reindex(columns=[0, 1, 2])
    out["Deck"], out["Side"] = cabin[0], cabin[2]
    for column in CATEGORICAL:
        out[column] = out[column].fillna("missing").astype(str)
    return out[CATEGORICAL + NUMERIC]


train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X, y = features(train), train["Transported"].astype(bool)

model = make_pipeline(
    ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
        ]
    ),
    LogisticRegression(max_iter=1000),
)

X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, random_state=1)
model.fit(X_train, y_train)
print(f"train accuracy: {model.score(X_train, y_train):.4f}")
print(f"validation accuracy: {model.score(X_valid, y_valid):.4f}")

model.fit(X, y)
submission = pd.DataFrame({"PassengerId": test["PassengerId"], "Transported": model.predict(features(test))})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
