"""A small synthetic stand-in for Kaggle's home-data-for-ml-course download, for tests only.

It writes ``train.csv`` (all 81 Ames columns, in Kaggle's order and text format: integers without
decimals, missing values as ``NA``, categorical codes from the data dictionary), ``test.csv``,
``sample_submission.csv`` and a short ``data_description.txt`` in the same layout as the real
one, plus the fixture marker. Values are drawn at random; ``SalePrice`` follows a log-linear
model of quality, living area, age and neighbourhood, so models can learn something. The numbers
mean nothing about real houses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 300
N_TEST = 40

SAMPLE_SUBMISSION_SCORE: float = 46310.866667
"""MAE of the public sample submission (the train mean) on all fixture answers, seed 0."""

QUALITY = ["Ex", "Gd", "TA", "Fa", "Po"]
NEIGHBORHOODS = [
    "Blmngtn", "Blueste", "BrDale", "BrkSide", "ClearCr", "CollgCr", "Crawfor", "Edwards", "Gilbert",
    "IDOTRR", "MeadowV", "Mitchel", "NAmes", "NoRidge", "NPkVill", "NridgHt", "NWAmes", "OldTown",
    "SWISU", "Sawyer", "SawyerW", "Somerst", "StoneBr", "Timber", "Veenker",
]
CONDITIONS = ["Norm", "Feedr", "Artery", "RRAn", "PosN", "RRAe", "PosA", "RRNn", "RRNe"]
EXTERIORS = ["VinylSd", "HdBoard", "MetalSd", "Wd Sdng", "Plywood", "CemntBd", "BrkFace", "WdShing", "Stucco"]

# column -> (codes, probability of NA); the first code is the most common one
CATEGORICAL: dict[str, tuple[list[str], float]] = {
    "MSZoning": (["RL", "RM", "FV", "RH", "C (all)"], 0.0),
    "Street": (["Pave", "Grvl"], 0.0),
    "Alley": (["Grvl", "Pave"], 0.93),
    "LotShape": (["Reg", "IR1", "IR2", "IR3"], 0.0),
    "LandContour": (["Lvl", "Bnk", "HLS", "Low"], 0.0),
    "Utilities": (["AllPub", "NoSeWa"], 0.0),
    "LotConfig": (["Inside", "Corner", "CulDSac", "FR2", "FR3"], 0.0),
    "LandSlope": (["Gtl", "Mod", "Sev"], 0.0),
    "Condition1": (CONDITIONS, 0.0),
    "Condition2": (CONDITIONS, 0.0),
    "BldgType": (["1Fam", "TwnhsE", "Duplex", "Twnhs", "2fmCon"], 0.0),
    "HouseStyle": (["1Story", "2Story", "1.5Fin", "SLvl", "SFoyer", "1.5Unf", "2.5Unf", "2.5Fin"], 0.0),
    "RoofStyle": (["Gable", "Hip", "Flat", "Gambrel", "Mansard", "Shed"], 0.0),
    "RoofMatl": (["CompShg", "Tar&Grv", "WdShngl", "WdShake", "Metal", "Membran", "Roll", "ClyTile"], 0.0),
    "Exterior1st": (EXTERIORS, 0.0),
    "Exterior2nd": (EXTERIORS, 0.0),
    "MasVnrType": (["None", "BrkFace", "Stone", "BrkCmn"], 0.01),
    "ExterQual": (QUALITY, 0.0),
    "ExterCond": (QUALITY, 0.0),
    "Foundation": (["PConc", "CBlock", "BrkTil", "Slab", "Stone", "Wood"], 0.0),
    "BsmtQual": (QUALITY[:4], 0.03),
    "BsmtCond": (QUALITY, 0.03),
    "BsmtExposure": (["No", "Av", "Gd", "Mn"], 0.03),
    "BsmtFinType1": (["Unf", "GLQ", "ALQ", "BLQ", "Rec", "LwQ"], 0.03),
    "BsmtFinType2": (["Unf", "Rec", "LwQ", "BLQ", "ALQ", "GLQ"], 0.03),
    "Heating": (["GasA", "GasW", "Grav", "Wall", "OthW", "Floor"], 0.0),
    "HeatingQC": (QUALITY, 0.0),
    "CentralAir": (["Y", "N"], 0.0),
    "Electrical": (["SBrkr", "FuseA", "FuseF", "FuseP", "Mix"], 0.005),
    "KitchenQual": (QUALITY[:4], 0.0),
    "Functional": (["Typ", "Min2", "Min1", "Mod", "Maj1", "Maj2", "Sev"], 0.0),
    "FireplaceQu": (QUALITY, 0.0),  # NA where Fireplaces == 0
    "GarageType": (["Attchd", "Detchd", "BuiltIn", "Basment", "CarPort", "2Types"], 0.0),  # NA without garage
    "GarageFinish": (["Unf", "RFn", "Fin"], 0.0),
    "GarageQual": (QUALITY, 0.0),
    "GarageCond": (QUALITY, 0.0),
    "PavedDrive": (["Y", "N", "P"], 0.0),
    "PoolQC": (["Gd", "Ex", "Fa"], 0.995),
    "Fence": (["MnPrv", "GdPrv", "GdWo", "MnWw"], 0.8),
    "MiscFeature": (["Shed", "Gar2", "Othr", "TenC"], 0.96),
    "SaleType": (["WD", "New", "COD", "ConLD", "ConLI", "ConLw", "CWD", "Oth", "Con"], 0.0),
    "SaleCondition": (["Normal", "Partial", "Abnorml", "Family", "Alloca", "AdjLand"], 0.0),
}

COLUMNS = [
    "Id", "MSSubClass", "MSZoning", "LotFrontage", "LotArea", "Street", "Alley", "LotShape", "LandContour",
    "Utilities", "LotConfig", "LandSlope", "Neighborhood", "Condition1", "Condition2", "BldgType", "HouseStyle",
    "OverallQual", "OverallCond", "YearBuilt", "YearRemodAdd", "RoofStyle", "RoofMatl", "Exterior1st",
    "Exterior2nd", "MasVnrType", "MasVnrArea", "ExterQual", "ExterCond", "Foundation", "BsmtQual", "BsmtCond",
    "BsmtExposure", "BsmtFinType1", "BsmtFinSF1", "BsmtFinType2", "BsmtFinSF2", "BsmtUnfSF", "TotalBsmtSF",
    "Heating", "HeatingQC", "CentralAir", "Electrical", "1stFlrSF", "2ndFlrSF", "LowQualFinSF", "GrLivArea",
    "BsmtFullBath", "BsmtHalfBath", "FullBath", "HalfBath", "BedroomAbvGr", "KitchenAbvGr", "KitchenQual",
    "TotRmsAbvGrd", "Functional", "Fireplaces", "FireplaceQu", "GarageType", "GarageYrBlt", "GarageFinish",
    "GarageCars", "GarageArea", "GarageQual", "GarageCond", "PavedDrive", "WoodDeckSF", "OpenPorchSF",
    "EnclosedPorch", "3SsnPorch", "ScreenPorch", "PoolArea", "PoolQC", "Fence", "MiscFeature", "MiscVal",
    "MoSold", "YrSold", "SaleType", "SaleCondition", "SalePrice",
]

DESCRIPTION = """\
Fixture data dictionary (synthetic test data, not the real Ames dictionary): one entry per column,
then the codes of categorical columns, indented, as in Kaggle's data_description.txt.

MSSubClass: building class code

        20\tone storey, 1946 and newer
        60\ttwo storey, 1946 and newer

MSZoning: zoning class

       RL\tresidential, low density
       RM\tresidential, medium density

OverallQual: overall material and finish, 1 (very poor) to 10 (very excellent)

GrLivArea: above-grade living area in square feet

Neighborhood: location within the city limits

PoolQC: pool quality

       Ex\texcellent
       NA\tno pool

SalePrice: the sale price in dollars (the target)
"""


def _pick(rng: np.random.Generator, codes: list[str], n: int, na: float) -> np.ndarray:
    weights = np.array([3.0] + [1.0] * (len(codes) - 1))
    out = rng.choice(np.array(codes, dtype=object), size=n, p=weights / weights.sum())
    out[rng.random(n) < na] = "NA"
    return out


def _ints(values: np.ndarray) -> np.ndarray:
    return np.round(values).astype(np.int64)


def _nullable(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Integers as text, ``NA`` where missing (Kaggle writes 65, not 65.0)."""
    return np.where(missing, "NA", _ints(values).astype(str)).astype(object)


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    f: dict[str, np.ndarray] = {"Id": np.arange(1, n + 1)}
    for column, (codes, na) in CATEGORICAL.items():
        f[column] = _pick(rng, codes, n, na)
    hood_effect = dict(zip(NEIGHBORHOODS, rng.normal(0.0, 0.15, len(NEIGHBORHOODS))))
    f["Neighborhood"] = rng.choice(np.array(NEIGHBORHOODS, dtype=object), size=n)
    f["MSSubClass"] = rng.choice([20, 30, 50, 60, 70, 80, 90, 120, 160, 190], size=n)

    quality = np.clip(np.round(rng.normal(6.1, 1.4, n)), 1, 10).astype(int)
    f["OverallQual"] = quality
    f["OverallCond"] = np.clip(np.round(rng.normal(5.6, 1.1, n)), 1, 9).astype(int)
    built = np.clip(_ints(2010 - rng.gamma(2.0, 18.0, n)), 1872, 2010)
    f["YearBuilt"] = built
    f["YearRemodAdd"] = np.maximum(built, np.clip(built + _ints(rng.exponential(15.0, n)), 1950, 2010))
    f["LotFrontage"] = _nullable(rng.normal(70, 20, n).clip(21, 300), rng.random(n) < 0.18)
    f["LotArea"] = _ints(rng.lognormal(9.1, 0.45, n))
    no_veneer = f["MasVnrType"] == "None"
    f["MasVnrArea"] = _nullable(np.where(no_veneer, 0, rng.gamma(2.0, 90.0, n)), f["MasVnrType"] == "NA")

    first = _ints(rng.normal(1150, 350, n).clip(334, 4000))
    second = np.where(rng.random(n) < 0.45, _ints(rng.normal(800, 250, n).clip(100, 2000)), 0)
    low = np.where(rng.random(n) < 0.02, _ints(rng.uniform(50, 500, n)), 0)
    f["1stFlrSF"], f["2ndFlrSF"], f["LowQualFinSF"] = first, second, low
    living = first + second + low
    f["GrLivArea"] = living

    no_basement = f["BsmtQual"] == "NA"
    for column in ("BsmtCond", "BsmtExposure", "BsmtFinType1", "BsmtFinType2"):
        f[column] = np.where(no_basement, "NA", f[column]).astype(object)
    fin1 = np.where(no_basement, 0, _ints(rng.uniform(0, 1.0, n) * first * 0.8))
    fin2 = np.where(no_basement | (rng.random(n) < 0.88), 0, _ints(rng.uniform(30, 600, n)))
    unf = np.where(no_basement, 0, np.maximum(first - fin1 - fin2, 0))
    f["BsmtFinSF1"], f["BsmtFinSF2"], f["BsmtUnfSF"] = fin1, fin2, unf
    f["TotalBsmtSF"] = fin1 + fin2 + unf
    f["BsmtFullBath"] = np.where(no_basement, 0, rng.integers(0, 2, n))
    f["BsmtHalfBath"] = np.where(no_basement, 0, (rng.random(n) < 0.06).astype(int))

    f["FullBath"] = np.clip(1 + (living > 1400) + (rng.random(n) < 0.1), 0, 3).astype(int)
    f["HalfBath"] = (rng.random(n) < 0.4).astype(int)
    f["BedroomAbvGr"] = np.clip(np.round(living / 500 + rng.normal(0, 0.6, n)), 0, 8).astype(int)
    f["KitchenAbvGr"] = 1 + (rng.random(n) < 0.05).astype(int)
    f["TotRmsAbvGrd"] = np.clip(f["BedroomAbvGr"] + 2 + rng.integers(0, 3, n), 2, 14)
    fireplaces = rng.choice([0, 1, 2], size=n, p=[0.47, 0.45, 0.08])
    f["Fireplaces"] = fireplaces
    f["FireplaceQu"] = np.where(fireplaces == 0, "NA", f["FireplaceQu"]).astype(object)

    cars = rng.choice([0, 1, 2, 3], size=n, p=[0.06, 0.25, 0.56, 0.13])
    no_garage = cars == 0
    f["GarageCars"] = cars
    f["GarageArea"] = np.where(no_garage, 0, _ints(cars * 240 + rng.normal(0, 40, n)))
    f["GarageYrBlt"] = _nullable(np.maximum(built, built + _ints(rng.exponential(3.0, n))), no_garage)
    for column in ("GarageType", "GarageFinish", "GarageQual", "GarageCond"):
        f[column] = np.where(no_garage, "NA", f[column]).astype(object)

    for column, share, scale in (
        ("WoodDeckSF", 0.48, 180), ("OpenPorchSF", 0.55, 60), ("EnclosedPorch", 0.14, 120),
        ("3SsnPorch", 0.02, 180), ("ScreenPorch", 0.08, 160),
    ):
        f[column] = np.where(rng.random(n) < share, _ints(rng.gamma(2.0, scale / 2.0, n)), 0)
    has_pool = f["PoolQC"] != "NA"
    f["PoolArea"] = np.where(has_pool, _ints(rng.uniform(400, 800, n)), 0)
    f["MiscVal"] = np.where(f["MiscFeature"] != "NA", _ints(rng.gamma(1.5, 400, n)), 0)
    f["MoSold"] = rng.integers(1, 13, n)
    f["YrSold"] = rng.integers(2006, 2011, n)

    hood = np.array([hood_effect[h] for h in f["Neighborhood"]])
    log_price = (
        10.75 + 0.11 * quality + 0.00035 * living + 0.0025 * (built - 1970) + hood
        + 0.05 * cars + rng.normal(0, 0.09, n)
    )
    f["SalePrice"] = _ints(np.exp(log_price))

    frame = pd.DataFrame({c: f[c] for c in COLUMNS})
    raw.mkdir(parents=True, exist_ok=True)
    frame.iloc[:N_TRAIN].to_csv(raw / "train.csv", index=False)
    test = frame.iloc[N_TRAIN:].drop(columns=["SalePrice"])
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"Id": test["Id"], "SalePrice": 180000.0}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / "data_description.txt").write_text(DESCRIPTION, encoding="utf-8")
    (raw / FIXTURE_MARKER).touch()
