"""The apflow error hierarchy.

One base class so callers can catch everything we raise on purpose, and a few
subclasses so they can catch exactly what they handle. Every message says what
was wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any


class ApflowError(Exception):
    """Base of every error apflow raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.hint})" if self.hint else base


class ConfigError(ApflowError):
    """Configuration is missing or wrong (environment variable, database URL, API key)."""


class ExecutorNotFound(ApflowError, KeyError):
    """No executor is registered under the requested id."""

    def __init__(self, executor_id: str, suggestions: list[str] | None = None) -> None:
        self.executor_id = executor_id
        self.suggestions = list(suggestions or [])
        hint = (
            f"closest registered: {', '.join(self.suggestions)}"
            if self.suggestions
            else "run `apflow executors list` to see what is registered"
        )
        super().__init__(f"unknown executor {executor_id!r}", hint=hint)

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return ApflowError.__str__(self)


class ExecutorRegistrationError(ApflowError):
    """An executor class could not be registered (id clash, bad input schema)."""


class TaskNotFound(ApflowError, KeyError):
    """No stored task has the requested id."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(
            f"no task with id {task_id!r}", hint="check the id with `apflow tasks list`"
        )

    def __str__(self) -> str:
        return ApflowError.__str__(self)


class TaskTreeError(ApflowError):
    """A stored tree cannot run: missing dependencies, cycles, bad references.

    Raised before anything executes; ``problems`` lists every offending task.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "task tree cannot run: " + "; ".join(self.problems),
            hint="fix the problems listed (each names its task); nothing was executed or stored",
        )


class StorageError(ApflowError):
    """The database refused a write or read: a duplicate id, a missing table, a constraint."""


class DuplicateTaskId(StorageError):
    """A new task has the id of a task that is already stored (or of another task of its tree)."""

    def __init__(self, task_id: str, root_id: str | None = None, *, in_tree: bool = False) -> None:
        self.task_id = task_id
        self.root_id = root_id
        if in_tree:
            message = f"task id {task_id!r} is used twice in tree {root_id}"
            hint = "give each task of the tree its own id"
        else:
            where = f" in tree {root_id}" if root_id else ""
            message = f"task id {task_id!r} already exists{where}"
            hint = (
                "use a new id (or none: a fresh one is made), or resume that tree with "
                "run_tree(root_id) / `apflow run --task ROOT_ID`"
            )
        super().__init__(message, hint=hint)


class InvalidTransition(ApflowError):
    """A task status change that the state machine does not allow (a bug, not user input)."""


class ValidationFailed(ApflowError):
    """A task tree did not pass validation; ``report`` holds every issue."""

    def __init__(self, report: Any, message: str | None = None) -> None:
        self.report = report
        issues = getattr(report, "issues", []) or []
        summary = "; ".join(f"{i.code} at {i.task_id or '-'}: {i.message}" for i in issues[:5])
        more = f" (+{len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(message or f"task tree is invalid: {summary}{more}")


class GenerationError(ApflowError):
    """The generator could not produce a valid tree within its repair budget.

    Carries the last tree the model gave, the issues that remained and the full
    attempt history, so the failure can be debugged without re-running it.
    """

    def __init__(
        self,
        message: str,
        *,
        last_tree: Any = None,
        issues: list[Any] | None = None,
        attempts: list[Any] | None = None,
        hint: str | None = None,
    ) -> None:
        self.last_tree = last_tree
        self.issues = list(issues or [])
        self.attempts = list(attempts or [])
        super().__init__(message, hint=hint)


class LLMError(ApflowError):
    """A model backend failed (transport, missing key, unparsable answer)."""


class PromptError(ApflowError):
    """A prompt template is missing or was rendered with a missing variable."""
