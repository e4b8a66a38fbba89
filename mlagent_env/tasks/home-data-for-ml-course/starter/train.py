"""Baseline for house prices: a random forest on 25 numeric columns of the Ames data.

Reads data/train.csv and data/test.csv, prints the validation MAE, and writes submission.csv
(Id,SalePrice). About 10 seconds on one CPU core with the real data (about 1,200 training houses).
"""

import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
y = train["SalePrice"]

# numeric columns without missing values; data/data_description.txt explains every column
features = [
    "MSSubClass", "LotArea", "OverallQual", "OverallCond", "YearBuilt", "YearRemodAdd", "1stFlrSF",
    "2ndFlrSF", "LowQualFinSF", "GrLivArea", "FullBath", "HalfBath", "BedroomAbvGr", "KitchenAbvGr",
    "TotRmsAbvGrd", "Fireplaces", "WoodDeckSF", "OpenPorchSF", "EnclosedPorch", "3SsnPorch",
    "ScreenPorch", "PoolArea", "MiscVal", "MoSold", "YrSold",
]
X = train[features]

X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, random_state=1)
model = RandomForestRegressor(n_estimators=100, random_state=1, n_jobs=-1)
model.fit(X_train, y_train)
print(f"train MAE: {mean_absolute_error(y_train, model.predict(X_train)):,.0f}")
print(f"validation MAE: {mean_absolute_error(y_valid, model.predict(X_valid)):,.0f}")

model.fit(X, y)
submission = pd.DataFrame({"Id": test["Id"], "SalePrice": model.predict(test[features])})
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
