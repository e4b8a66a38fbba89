"""Tasks: specs, data preparation and grading."""

from mlagent_env.tasks.registry import Task, get_task, list_tasks
from mlagent_env.tasks.spec import TaskSpec

__all__ = ["Task", "TaskSpec", "get_task", "list_tasks"]
