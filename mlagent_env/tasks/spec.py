"""TaskSpec: the declarative facts of one task, read from ``tasks/<id>/task.yaml``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Split = Literal["held-in", "held-out", "offline", "offline-held-in", "offline-held-out"]
Source = Literal["mlagentbench", "mle-bench", "offline"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(_Strict):
    name: str = Field(description="Metric id in mlagent_env.tasks.metrics.METRICS, e.g. 'accuracy', 'mae'.")
    higher_is_better: bool = Field(description="Direction of the metric.")
    options: dict[str, Any] = Field(default_factory=dict, description="Metric options (e.g. k for MAP@k).")


class Medals(_Strict):
    gold: float | None = None
    silver: float | None = None
    bronze: float | None = None
    median: float | None = None


class PublishedScores(_Strict):
    """A published score that, with ``reference_score``, sets the reward scale of a task whose
    starter has not been measured. Give exactly one of ``starter`` and ``baseline``."""

    starter: float | None = Field(
        None, description="Published score of this task's own starter script; also the first run's previous metric."
    )
    baseline: float | None = Field(
        None,
        description="A published score of other code (another benchmark's starter, the mean of published agents): "
        "it sets the scale only.",
    )
    source: str = Field(min_length=1, description="Where the figure comes from (paper and table, repository file).")

    @model_validator(mode="after")
    def _one_score(self) -> "PublishedScores":
        given = [v for v in (self.starter, self.baseline) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'starter' and 'baseline'")
        if not math.isfinite(given[0]):
            raise ValueError("the published score must be a finite number")
        return self

    @property
    def score(self) -> float:
        return self.starter if self.starter is not None else self.baseline  # type: ignore[return-value]


class Resources(_Strict):
    gpu_recommended: bool = False
    exec_timeout_s: float = Field(600.0, gt=0, description="Default time limit of one Execute Script.")
    memory_mb: int = Field(4096, gt=0, description="Default memory limit of the sandbox.")
    disk_mb: int = Field(8192, ge=8, description="Default size limit of the sandbox's writable space (workspace and temporary files).")
    image: Literal["slim", "full"] = Field(
        "full", description="Runtime image variant for the Docker sandbox: slim (numpy, pandas, scikit-learn) or full."
    )


class RawFile(_Strict):
    """A file or folder that the raw download must contain (relative to ``raw/<task>``).
    ``sha256`` is checked for files when given; folders have none."""

    name: str
    sha256: str | None = None


class DataSource(_Strict):
    kind: Literal["sklearn", "package", "kaggle", "torchvision", "ogb", "url", "manual"]
    name: str = Field(description="Dataset or competition name at the source (e.g. Kaggle competition id).")
    raw_files: list[RawFile] = Field(default_factory=list)
    instructions: str | None = Field(None, description="How to obtain the data by hand, shown when it cannot be fetched.")


class TaskSpec(_Strict):
    """Facts about one task. Every field is documented; unknown keys are an error."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    source: Source
    split: Split = Field(
        description="held-in (SFT and RL) / held-out (evaluation only) as in the paper; the small offline tasks split "
        "the same way as offline-held-in / offline-held-out ('offline': outside both groups)."
    )
    data_type: Literal["image", "tabular", "text", "graph"]
    task_type: Literal["classification", "regression", "generation"]
    metric: MetricSpec
    id_column: str = "id"
    target_columns: list[str] = Field(min_length=1)
    classes: list[str] | None = Field(
        None,
        description="For label metrics: every label a prediction may take (one class set for all target "
        "columns). Default: the labels that occur in the test answers, which is too narrow when a class "
        "can be missing from the test rows.",
    )
    submission_file: str = "submission.csv"
    baseline_score: float | None = Field(
        None, description="Score of the unmodified starter on the held-back rows (mlagent-env baseline); None if unknown."
    )
    baseline_reward_score: float | None = Field(
        None,
        description="Score of the unmodified starter on the reward rows: the 'previous metric' of an episode's first run.",
    )
    reference_score: float | None = Field(None, description="Best known score or the gold threshold; None if unknown.")
    published: PublishedScores | None = Field(
        None, description="A published starter or baseline score: the reward scale when no starter is measured."
    )
    medals: Medals = Field(default_factory=Medals)
    resources: Resources = Field(default_factory=Resources)
    data_source: DataSource
    reward_fraction: float = Field(
        0.5, gt=0, lt=1, description="Share of the test answers graded by the per-step reward; the rest is held back."
    )
    starter_script: str = "train.py"

    @field_validator("baseline_score", "baseline_reward_score", "reference_score")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number or null")
        return v

    @model_validator(mode="after")
    def _columns(self) -> "TaskSpec":
        if self.id_column in self.target_columns:
            raise ValueError("id_column must not also be a target column")
        return self

    @property
    def submission_columns(self) -> list[str]:
        return [self.id_column, *self.target_columns]

    def is_better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than score ``b`` under this task's metric."""
        return a > b if self.metric.higher_is_better else a < b

    @classmethod
    def from_yaml(cls, path: Path) -> "TaskSpec":
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping at the top level")
        return cls.model_validate(data)
