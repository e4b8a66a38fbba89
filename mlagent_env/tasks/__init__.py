"""Tasks: specs, data preparation and grading."""

from mlagent_env.tasks.registry import Task, get_task, list_tasks, resolve_tasks, task_groups
from mlagent_env.tasks.spec import TaskSpec

__all__ = ["Task", "TaskSpec", "get_task", "list_tasks", "resolve_tasks", "task_groups"]
