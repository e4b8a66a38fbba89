"""Typed errors a user or an agent can cause. Each message says what to do about it."""

from __future__ import annotations


class MLAgentError(Exception):
    """Base class of every error raised on purpose by mlagent_env."""


class InvalidSubmission(MLAgentError):
    """A submission cannot be graded: missing, duplicate or extra ids, missing columns,
    NaN/inf values, wrong row count, or values out of range. The message names the problem."""


class SandboxError(MLAgentError):
    """Base class of sandbox errors that an action can cause (bad paths, missing files)."""


class PathEscapeError(SandboxError):
    """A path leaves the workspace (``..``, an absolute path, or a symlink pointing out)."""


class ReadOnlyPathError(SandboxError):
    """A write to a read-only location (the task's public data)."""


class WorkspaceFileNotFound(SandboxError):
    """A file or directory that an action names does not exist in the workspace."""


class UnreadableFile(SandboxError):
    """A workspace file that the host will not read: not a regular file (a FIFO, device or socket),
    or larger than the host reads (sparse files included). The message names the limit."""


class InvalidPath(SandboxError):
    """A path argument the file system cannot take: a name over 255 bytes, a path over 4096 bytes,
    or characters that are not valid UTF-8."""


class TaskNotFound(MLAgentError):
    """No task with that id is registered."""


class TaskNotPrepared(MLAgentError):
    """The task's data has not been prepared; the message gives the command to run."""


class DataUnavailable(MLAgentError):
    """The raw data could not be acquired automatically; the message says what to download and where to put it."""


class AnswersChanged(MLAgentError):
    """A prepared answer file differs from the checksum written when it was prepared (or has none);
    the message names the file and the command that prepares the task again."""


class InvalidRawData(MLAgentError):
    """A raw data file cannot be read as the task's ``prepare.py`` expects (not UTF-8 text, not the
    CSV or the columns it should have); the message names the file, or the folder, and what to do."""
