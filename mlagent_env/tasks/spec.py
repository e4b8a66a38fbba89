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


class Resources(_Strict):
    gpu_recommended: bool = False
    exec_timeout_s: float = Field(600.0, gt=0, description="Default time limit of one Execute Script.")
    memory_mb: int = Field(4096, gt=0, description="Default memory limit of the sandbox.")
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
    submission_file: str = "submission.csv"
    baseline_score: float | None = Field(
        None, description="Score of the unmodified starter on the held-back rows (mlagent-env baseline); None if unknown."
    )
    baseline_reward_score: float | None = Field(
        None,
        description="Score of the unmodified starter on the reward rows: the 'previous metric' of an episode's first run.",
    )
    reference_score: float | None = Field(None, description="Best known score or the gold threshold; None if unknown.")
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
