"""Baseline for the ELL essay scores: TF-IDF word and bigram features with a ridge regression.

Reads data/train.csv and data/test.csv, prints the validation RMSE of each of the six scores and
their mean (MCRMSE), and writes submission.csv (text_id + the six scores). About 20 seconds on
one CPU core with the real data (about 3,500 training essays).
"""

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

DIMENSIONS = ["cohesion", "syntax", "vocabulary", "phraseology", "grammar", "conventions"]

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")


def make_model():
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=50000),
        Ridge(alpha=3.0),
    )


def predict(model, texts: pd.Series) -> np.ndarray:
    # the scores run from 1.0 to 5.0
    return np.clip(model.predict(texts), 1.0, 5.0)


train_part, valid_part = train_test_split(train, test_size=0.1, random_state=42)
model = make_model().fit(train_part["full_text"], train_part[DIMENSIONS])
errors = predict(model, valid_part["full_text"]) - valid_part[DIMENSIONS].to_numpy()
rmse = np.sqrt((errors**2).mean(axis=0))
for name, value in zip(DIMENSIONS, rmse):
    print(f"validation RMSE {name}: {value:.4f}")
print(f"validation MCRMSE: {rmse.mean():.4f}")

model = make_model().fit(train["full_text"], train[DIMENSIONS])
submission = pd.DataFrame(predict(model, test["full_text"]), columns=DIMENSIONS)
submission.insert(0, "text_id", test["text_id"])
submission.to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {len(submission)} rows")
