"""Reading, validating and grading submissions; medals and relative gain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlagent_env.errors import InvalidSubmission
from mlagent_env.tasks.grading import grade, medal, read_csv_submission, relative_gain, validate_submission
from mlagent_env.tasks.metrics import METRICS
from mlagent_env.tasks.spec import TaskSpec


def make_spec(metric: str, targets: list[str], id_column: str = "id", **extra: Any) -> TaskSpec:
    data: dict[str, Any] = {
        "id": "toy",
        "title": "Toy task",
        "source": "offline",
        "split": "offline",
        "data_type": "tabular",
        "task_type": "regression",
        "metric": {"name": metric, "higher_is_better": METRICS[metric].higher_is_better},
        "id_column": id_column,
        "target_columns": targets,
        "data_source": {"kind": "manual", "name": "toy"},
    }
    data.update(extra)
    return TaskSpec.model_validate(data)


N = 30
IDS = [f"r{i}" for i in range(N)]


def answers_for(metric: str, rng: np.random.Generator) -> tuple[TaskSpec, pd.DataFrame]:
    """A spec and a well-formed answers frame for each metric."""
    if metric == "accuracy":
        spec, cols = make_spec(metric, ["label"]), {"label": rng.choice([True, False], N)}
    elif metric == "roc_auc":
        spec, cols = make_spec(metric, ["a", "b"]), {"a": np.tile([0, 1], N // 2), "b": np.repeat([0, 1], N // 2)}
    elif metric == "log_loss":
        onehot = np.eye(3, dtype=int)[np.arange(N) % 3]
        spec, cols = make_spec(metric, ["x", "y", "z"]), dict(zip("xyz", onehot.T))
    elif metric == "map_at_5":
        spec, cols = make_spec(metric, ["Id"]), {"Id": rng.choice(["w_1", "w_2", "new_whale"], N)}
    elif metric == "qwk":
        spec, cols = make_spec(metric, ["score"]), {"score": np.arange(N) % 6 + 1}
    elif metric == "pearson":
        spec, cols = make_spec(metric, ["score"]), {"score": rng.normal(size=N)}
    else:
        spec, cols = make_spec(metric, ["t1", "t2"]), {"t1": rng.uniform(0, 3, N), "t2": rng.uniform(0, 3, N)}
    return spec, pd.DataFrame({"id": IDS, **cols})


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_answers_score_best_and_shuffling_does_not_matter(metric: str) -> None:
    rng = np.random.default_rng(0)
    spec, answers = answers_for(metric, rng)
    assert grade(spec, answers.copy(), answers) == pytest.approx(METRICS[metric].best, abs=1e-12)

    # a noisy submission, then the same rows shuffled: the score must not change
    submission = answers.copy()
    if metric in {"mae", "rmse", "rmsle", "mcrmse", "pearson"}:
        for c in spec.target_columns:
            submission[c] = np.abs(submission[c] + rng.normal(size=N))
    elif metric in {"roc_auc", "log_loss"}:
        for c in spec.target_columns:
            submission[c] = rng.uniform(size=N)
    else:
        submission.loc[:9, spec.target_columns[0]] = answers[spec.target_columns[0]].iloc[10:20].to_numpy()
    score = grade(spec, submission, answers)
    shuffled = submission.sample(frac=1.0, random_state=1)[list(reversed(submission.columns))]
    assert grade(spec, shuffled, answers) == pytest.approx(score, rel=1e-12, abs=1e-15)


def test_rows_are_matched_by_id_not_position() -> None:
    spec = make_spec("mae", ["y"])
    answers = pd.DataFrame({"id": ["a", "b", "c"], "y": [1.0, 2.0, 3.0]})
    submission = pd.DataFrame({"id": ["c", "a", "b"], "y": [3.0, 1.0, 2.0]})
    assert grade(spec, submission, answers) == 0.0


def test_subset_of_answers_grades_only_those_rows() -> None:
    spec = make_spec("mae", ["y"])
    all_ids = ["1", "2", "3", "4"]
    submission = pd.DataFrame({"id": all_ids, "y": [1.0, 2.0, 10.0, 20.0]})
    reward = pd.DataFrame({"id": ["2", "1"], "y": [2.0, 1.0]})  # perfectly predicted rows
    held_back = pd.DataFrame({"id": ["3", "4"], "y": [0.0, 0.0]})
    assert grade(spec, submission, reward, expected_ids=all_ids) == 0.0
    assert grade(spec, submission, held_back, expected_ids=all_ids) == 15.0
    # the submission must still cover every test id, not only the graded ones
    with pytest.raises(InvalidSubmission, match="missing"):
        grade(spec, submission.iloc[:2], reward, expected_ids=all_ids)
    # answers outside the expected ids are our bug
    with pytest.raises(ValueError, match="not among the expected ids"):
        grade(spec, submission, pd.DataFrame({"id": ["9"], "y": [1.0]}), expected_ids=all_ids)


def test_integer_looking_ids_from_csv_match(tmp_path: Path) -> None:
    spec = make_spec("accuracy", ["Transported"], id_column="PassengerId")
    path = tmp_path / "submission.csv"
    path.write_text(" PassengerId ,Transported\n0001,True\n2,False\n 3 ,true\n")
    submission = read_csv_submission(path, spec)
    assert submission["PassengerId"].tolist() == ["0001", "2", " 3 "]
    answers = pd.DataFrame({"PassengerId": ["0001", "2", "3"], "Transported": [True, False, True]})
    assert grade(spec, submission, answers) == 1.0
    # answers whose ids were parsed as integers still match string ids
    spec_mae = make_spec("mae", ["y"])
    path.write_text("id,y\n1,0.5\n2,1.5\n")
    answers_int = pd.DataFrame({"id": [2, 1], "y": [1.5, 0.5]})
    assert grade(spec_mae, read_csv_submission(path, spec_mae), answers_int) == 0.0
    assert grade(spec_mae, read_csv_submission(path, spec_mae), answers_int, expected_ids=[1.0, 2.0]) == 0.0


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "empty"),
        ("\n  \n", "empty"),
        ("PK\x03\x04\x00\x00binary", "not a CSV"),
        ('id,y\n1,"unterminated\n', "could not be read as CSV"),
    ],
)
def test_unreadable_files_raise_invalid_submission(tmp_path: Path, content: str, match: str) -> None:
    spec = make_spec("mae", ["y"])
    path = tmp_path / "submission.csv"
    path.write_text(content)
    with pytest.raises(InvalidSubmission, match=match) as info:
        read_csv_submission(path, spec)
    assert "submission.csv" in str(info.value)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    spec = make_spec("mae", ["y"])
    with pytest.raises(InvalidSubmission, match="no submission file"):
        read_csv_submission(tmp_path / "nope.csv", spec)
    path = tmp_path / "latin.csv"
    path.write_bytes("id,y\nd\xe9j\xe0,1\n".encode("latin-1"))
    with pytest.raises(InvalidSubmission, match="latin.csv"):
        read_csv_submission(path, spec)


def _mae_setup() -> tuple[TaskSpec, pd.DataFrame, list[str]]:
    spec = make_spec("mae", ["y1", "y2"])
    ids = [str(i) for i in range(8)]
    return spec, pd.DataFrame({"id": ids, "y1": np.arange(8.0), "y2": np.ones(8)}), ids


def test_validation_errors_name_the_problem() -> None:
    spec, good, ids = _mae_setup()

    def fails(frame: pd.DataFrame, *needles: str) -> None:
        with pytest.raises(InvalidSubmission) as info:
            validate_submission(spec, frame, ids)
        for needle in needles:
            assert needle in str(info.value), str(info.value)

    fails(good.rename(columns={"id": "ID"}), "no id column", "'id'", "id,y1,y2")
    fails(good.drop(columns=["y2"]), "'y2'", "lacks")
    fails(good.assign(extra=1, **{"Unnamed: 0": 0}), "'extra'", "index=False")
    fails(pd.concat([good, good.iloc[[3]]]), "more than once", "'3'")
    fails(good.iloc[:5], "3 of 8", "missing", "'5'")
    fails(pd.concat([good, pd.DataFrame({"id": ["99"], "y1": [0.0], "y2": [0.0]})]), "1 id(s)", "'99'", "not test ids")
    fails(good.assign(id=good["id"].where(good.index != 2, None)), "empty 'id'")
    fails(good.assign(y1=good["y1"].astype(object).where(good.index > 1, "abc")), "'y1'", "2 non-numeric", "'abc'")
    fails(good.assign(y2=good["y2"].where(good.index > 2, np.nan)), "'y2'", "3 empty or NaN")
    fails(good.assign(y2=good["y2"].where(good.index > 0, np.inf)), "'y2'", "1 infinite")


def test_validation_order_and_return_value() -> None:
    spec, good, ids = _mae_setup()
    # missing columns are reported before id problems
    with pytest.raises(InvalidSubmission, match="lacks"):
        validate_submission(spec, good.drop(columns=["y1"]).iloc[:3], ids)
    shuffled = good.sample(frac=1.0, random_state=0)[["y2", "id", "y1"]]
    shuffled["id"] = " " + shuffled["id"] + " "
    out = validate_submission(spec, shuffled, list(reversed(ids)))
    assert list(out.columns) == ["id", "y1", "y2"]
    assert out["id"].tolist() == list(reversed(ids))
    assert out["y1"].tolist() == list(reversed(np.arange(8.0).tolist()))
    assert list(out.index) == list(range(8))
    # numeric strings are accepted and converted
    as_text = good.assign(y1=good["y1"].astype(str))
    assert validate_submission(spec, as_text, ids)["y1"].dtype == np.float64
    with pytest.raises(ValueError):
        validate_submission(spec, good, ["1", "1"])


def test_metric_specific_value_checks() -> None:
    ids = ["a", "b", "c"]
    log_spec = make_spec("log_loss", ["p"])
    with pytest.raises(InvalidSubmission, match=r"'p'.*outside \[0, 1\]"):
        validate_submission(log_spec, pd.DataFrame({"id": ids, "p": [0.2, 1.2, -0.1]}), ids)
    validate_submission(log_spec, pd.DataFrame({"id": ids, "p": [0.0, 1.0, 0.5]}), ids)

    auc_spec = make_spec("roc_auc", ["p"])
    with pytest.raises(InvalidSubmission, match=r"outside \[0, 1\] \(e.g. -3.0, 7.0\)"):  # scores are probabilities
        validate_submission(auc_spec, pd.DataFrame({"id": ids, "p": [-3.0, 7.0, 0.5]}), ids)
    with pytest.raises(InvalidSubmission, match="'p'.*NaN"):
        validate_submission(auc_spec, pd.DataFrame({"id": ids, "p": [np.nan, 7.0, 0.5]}), ids)

    rmsle_spec = make_spec("rmsle", ["y"])
    with pytest.raises(InvalidSubmission, match="'y'.*1 negative.*clip"):
        validate_submission(rmsle_spec, pd.DataFrame({"id": ids, "y": [0.0, -1.0, 2.0]}), ids)

    qwk_spec = make_spec("qwk", ["score"])
    with pytest.raises(InvalidSubmission, match="'score'.*non-integer.*round"):
        validate_submission(qwk_spec, pd.DataFrame({"id": ids, "score": [1.0, 2.5, 3.0]}), ids)
    out = validate_submission(qwk_spec, pd.DataFrame({"id": ids, "score": [1.0, 2.0, 3.0]}), ids)
    assert out["score"].tolist() == [1.0, 2.0, 3.0]

    acc_spec = make_spec("accuracy", ["label"])
    with pytest.raises(InvalidSubmission, match="'label'.*1 empty"):
        validate_submission(acc_spec, pd.DataFrame({"id": ids, "label": ["x", None, "y"]}), ids)


def test_map_at_5_allows_empty_but_needs_strings() -> None:
    spec = make_spec("map_at_5", ["Id"])
    ids = ["a.jpg", "b.jpg", "c.jpg"]
    answers = pd.DataFrame({"id": ids, "Id": ["w_1", "w_2", "7"]})
    submission = pd.DataFrame({"id": ids, "Id": ["w_1 new_whale", np.nan, 7]})
    out = validate_submission(spec, submission, ids)
    assert out["Id"].tolist() == ["w_1 new_whale", "", "7"]
    assert grade(spec, submission, answers) == pytest.approx(2 / 3)
    with pytest.raises(InvalidSubmission, match="'Id'.*not label strings"):
        validate_submission(spec, pd.DataFrame({"id": ids, "Id": ["w_1", ["w_2"], 0.5]}), ids)


def test_grade_reports_our_bugs_as_value_error() -> None:
    spec, good, ids = _mae_setup()
    with pytest.raises(ValueError, match="unknown metric"):
        unknown = spec.model_copy(update={"metric": spec.metric.model_copy(update={"name": "f1"})})
        grade(unknown, good, good)
    with pytest.raises(ValueError, match="answers lack"):
        grade(spec, good, good.drop(columns=["y2"]))
    with pytest.raises(ValueError, match="answers are malformed"):
        grade(spec, good, good.assign(y1=np.nan))
    with pytest.raises(ValueError, match="answers are malformed"):
        grade(spec, good, pd.concat([good, good.iloc[[0]]]))
    wrong_direction = spec.model_copy(update={"metric": spec.metric.model_copy(update={"higher_is_better": True})})
    with pytest.raises(ValueError, match="higher_is_better"):
        grade(wrong_direction, good, good)
    auc_spec = make_spec("roc_auc", ["p"])
    single_class = pd.DataFrame({"id": ["a", "b"], "p": [1, 1]})
    with pytest.raises(ValueError, match="one class"):
        grade(auc_spec, single_class, single_class)


def test_grade_from_csv_end_to_end(tmp_path: Path) -> None:
    spec = make_spec("log_loss", ["EAP", "HPL", "MWS"])
    answers = pd.DataFrame({"id": ["id1", "id2"], "EAP": [1, 0], "HPL": [0, 0], "MWS": [0, 1]})
    path = tmp_path / "submission.csv"
    pd.DataFrame({"id": ["id2", "id1"], "EAP": [0.0, 2.0], "HPL": [0.0, 0.0], "MWS": [1.0, 0.0]}).to_csv(path)
    with pytest.raises(InvalidSubmission, match="index=False"):
        grade(spec, read_csv_submission(path, spec), answers)
    right = pd.DataFrame({"id": ["id2", "id1"], "EAP": [0.0, 1.0], "HPL": [0.0, 0.0], "MWS": [1.0, 0.0]})
    right.to_csv(path, index=False)
    assert grade(spec, read_csv_submission(path, spec), answers) == pytest.approx(0.0, abs=1e-14)


def test_medal_both_directions() -> None:
    up = make_spec("accuracy", ["y"], medals={"gold": 0.9, "silver": 0.85, "bronze": 0.8, "median": 0.7})
    assert medal(up, 0.95) == "gold"
    assert medal(up, 0.9) == "gold"  # thresholds are inclusive
    assert medal(up, 0.86) == "silver"
    assert medal(up, 0.8) == "bronze"
    assert medal(up, 0.79) is None
    assert medal(up, float("nan")) is None
    down = make_spec("log_loss", ["y"], medals={"gold": 0.04, "silver": 0.05, "bronze": 0.06})
    assert medal(down, 0.01) == "gold"
    assert medal(down, 0.045) == "silver"
    assert medal(down, 0.06) == "bronze"
    assert medal(down, 0.07) is None
    assert medal(make_spec("mae", ["y"]), 0.0) is None  # no thresholds known
    partial = make_spec("mae", ["y"], medals={"bronze": 10.0})
    assert medal(partial, 1.0) == "bronze"


def test_relative_gain_both_directions() -> None:
    up = make_spec("accuracy", ["y"])
    down = make_spec("mae", ["y"])
    assert relative_gain(up, 0.6, 0.5) == pytest.approx(0.2)
    assert relative_gain(up, 0.4, 0.5) == pytest.approx(-0.2)
    assert relative_gain(down, 80.0, 100.0) == pytest.approx(0.2)
    assert relative_gain(down, 120.0, 100.0) == pytest.approx(-0.2)
    assert relative_gain(up, -0.5, -1.0) == pytest.approx(0.5)  # |baseline| for negative baselines
    with pytest.raises(ValueError):
        relative_gain(up, 0.5, 0.0)


def test_duplicated_column_names() -> None:
    spec, good, ids = _mae_setup()
    frame = pd.concat([good, good[["y1"]]], axis=1)
    with pytest.raises(InvalidSubmission, match=r"duplicated column\(s\) \['y1'\]"):
        validate_submission(spec, frame, ids)


@pytest.mark.parametrize("labels, bad", [(["3", "banana", "4"], "'banana'"), ([3, 12, 4], "12")])
def test_labels_outside_the_classes_are_invalid_and_name_the_allowed_ones(labels: list[Any], bad: str) -> None:
    from mlagent_env.tasks.grading import AnswerKey

    spec = make_spec("accuracy", ["label"])
    answers = pd.DataFrame({"id": ["a", "b", "c", "d"], "label": [3, 4, 5, 3]})
    key = AnswerKey.build(spec, answers)
    submission = pd.DataFrame({"id": ["a", "b", "c", "d"], "label": [*labels, 3]})
    with pytest.raises(InvalidSubmission, match=f"1 label\\(s\\) outside the task's classes \\(e.g. {bad}\\); "
                                                "the allowed labels are '3', '4', '5'"):
        grade(spec, submission, key.split(answers))
    with pytest.raises(InvalidSubmission, match="outside the task's classes"):
        validate_submission(spec, submission, key)  # what Validate Submission uses
    # the same labels in another spelling are fine
    assert grade(spec, pd.DataFrame({"id": list("abcd"), "label": ["3", "4.0", 5, "3"]}), answers) == 1.0


def test_a_declared_class_missing_from_the_test_rows_is_a_valid_prediction() -> None:
    """A rare class may be absent from the test answers (ogbn-arxiv's fixture, TPS Dec 2021's
    cover type 5): predicting it is a wrong answer, not an invalid submission."""
    spec = make_spec("accuracy", ["label"]).model_copy(update={"classes": ["3", "4", "5", "6"]})
    answers = pd.DataFrame({"id": ["a", "b"], "label": [3, 4]})
    assert grade(spec, pd.DataFrame({"id": ["a", "b"], "label": [3, 6]}), answers) == 0.5
    with pytest.raises(InvalidSubmission, match="allowed labels are '3', '4', '5', '6'"):
        grade(spec, pd.DataFrame({"id": ["a", "b"], "label": [3, 7]}), answers)


def test_boolean_classes_accept_their_spellings_only() -> None:
    spec = make_spec("accuracy", ["Transported"])
    answers = pd.DataFrame({"id": ["a", "b"], "Transported": ["True", "False"]})
    assert grade(spec, pd.DataFrame({"id": ["a", "b"], "Transported": [True, False]}), answers) == 1.0
    with pytest.raises(InvalidSubmission, match="'yes', 'no'.*allowed labels are 'False', 'True'"):
        grade(spec, pd.DataFrame({"id": ["a", "b"], "Transported": ["yes", "no"]}), answers)


def test_float_looking_ids_get_a_message_saying_so(tmp_path: Path) -> None:
    spec = make_spec("mae", ["y"])
    answers = pd.DataFrame({"id": ["5", "6"], "y": [1.0, 2.0]})
    path = tmp_path / "s.csv"
    path.write_text("id,y\n5.0,1\n6.0,2\n")
    with pytest.raises(InvalidSubmission, match=r"look like floats \(e.g. '5.0', '6.0'\).*as integers"):
        grade(spec, read_csv_submission(path, spec), answers)


def test_validate_submission_in_the_env_agrees_with_grading(data_dir: Path) -> None:
    import gymnasium as gym

    from mlagent_env import actions as A
    from mlagent_env.tasks.data import task_paths

    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir)
    env.reset(seed=0)
    sample = pd.read_csv(task_paths("digits", data_dir).public / "sample_submission.csv")
    sample[sample.columns[1]] = "banana"
    env.unwrapped._sandbox.write_file("submission.csv", sample.to_csv(index=False).encode())
    obs, *_ = env.step(A.ValidateSubmission(submission_path="submission.csv"))
    env.close()
    assert "is invalid" in obs and "outside the task's classes" in obs and "'9'" in obs


def test_training_labels_count_as_classes(tmp_path: Path) -> None:
    from mlagent_env.tasks.grading import AnswerKey

    spec = make_spec("accuracy", ["label"])
    answers = pd.DataFrame({"id": ["a", "b"], "label": [3, 4]})
    (tmp_path / "train.csv").write_text("id,label\nx,7\ny,3\n")
    (tmp_path / "sample_submission.csv").write_text("id,label\na,99\nb,99\n")  # placeholders are not classes
    key = AnswerKey.build(spec, answers, tmp_path)
    assert grade(spec, pd.DataFrame({"id": ["a", "b"], "label": [7, 4]}), key.split(answers)) == 0.5
    with pytest.raises(InvalidSubmission, match="allowed labels are '3', '4', '7'"):
        grade(spec, pd.DataFrame({"id": ["a", "b"], "label": [99, 4]}), key.split(answers))
