"""What a caller allows: which executors a tree may use (``Limits``, how big it may be,
lives in :mod:`apflow.spec.limits` and is re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from apflow.core.settings import settings
from apflow.spec.limits import Limits

__all__ = ["DANGEROUS_EXECUTORS", "ExecutorPolicy", "Limits", "default_policy"]

#: Executors that can touch the host; refused unless the operator opts in.
DANGEROUS_EXECUTORS = frozenset({"command_executor"})


@dataclass(frozen=True)
class ExecutorPolicy:
    """``allowed=None`` means every registered executor except those in ``denied``."""

    allowed: frozenset[str] | set[str] | None = None
    denied: frozenset[str] | set[str] = field(default_factory=frozenset)

    def allows(self, executor_id: str) -> bool:
        if executor_id in self.denied:
            return False
        return self.allowed is None or executor_id in self.allowed

    def reason(self, executor_id: str) -> str:
        """Why ``executor_id`` is refused, in words a user can act on."""
        if executor_id in DANGEROUS_EXECUTORS and executor_id in self.denied:
            return "running shell commands is disabled (set APFLOW_ALLOW_COMMANDS=1 to allow it)"
        if executor_id in self.denied:
            return "the caller's policy denies this executor"
        return "the caller's policy allows only: " + ", ".join(sorted(self.allowed or ()))


def default_policy() -> ExecutorPolicy:
    """Deny ``command_executor`` unless ``APFLOW_ALLOW_COMMANDS=1`` (read at call time)."""
    if settings().allow_commands:
        return ExecutorPolicy()
    return ExecutorPolicy(denied=DANGEROUS_EXECUTORS)
