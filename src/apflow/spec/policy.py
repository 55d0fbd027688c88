"""What a caller allows: which executors a tree may use, and how big it may be."""

from __future__ import annotations

from dataclasses import dataclass, field

from apflow.core.config import flag

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
    if flag("APFLOW_ALLOW_COMMANDS"):
        return ExecutorPolicy()
    return ExecutorPolicy(denied=DANGEROUS_EXECUTORS)


@dataclass(frozen=True)
class Limits:
    """Size limits that keep an untrusted tree from exhausting memory or the database."""

    max_tasks: int = 200
    max_input_bytes: int = 65536
    max_input_depth: int = 32
