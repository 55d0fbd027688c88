"""The stored task: one ``tasks`` table, plus a one-row schema version table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from apflow.core.states import check_transition
from apflow.core.task_fields import (  # noqa: F401  (re-exported: the names' old home)
    DEFAULT_PRIORITY,
    MAX_ERROR_TYPE,
    MAX_ID,
    MAX_NAME,
    MAX_PRIORITY,
    MAX_USER_ID,
    MIN_PRIORITY,
    new_id,
    utcnow,
)

SCHEMA_VERSION = 1


class StoredText(TypeDecorator[str]):
    """Text an executor produced (``error``, ``error_type``), stored the same on every database.

    PostgreSQL refuses a NUL character in text and a value longer than a VARCHAR; SQLite
    takes both. NUL becomes the four characters ``\\x00`` and, with ``cut``, the value is
    cut to the column length, so a failed task's error is always stored instead of making
    the write (and with it the run) fail on one database only.
    """

    impl = Text
    cache_ok = True

    def __init__(self, length: int | None = None, *, cut: bool = False) -> None:
        super().__init__()
        self.impl = String(length) if length else Text()  # type: ignore[assignment]
        self.cut = cut

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("\x00", "\\x00")
            if self.cut and self.impl.length and len(value) > self.impl.length:  # type: ignore[attr-defined]
                value = value[: self.impl.length]  # type: ignore[attr-defined]
        return value


class Base(DeclarativeBase):
    pass


class TaskModel(Base):
    """One task of a tree. ``parent_id`` is organisational; ``dependencies`` order execution."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(MAX_ID), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    parent_id: Mapped[str | None] = mapped_column(String(MAX_ID), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(MAX_USER_ID), nullable=True)
    dependencies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=2)
    schemas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(32), default="pending")
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: Extra top-level keys an executor returned beside ``result`` (e.g. ``summary``).
    result_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(StoredText(), nullable=True)
    error_type: Mapped[str | None] = mapped_column(
        StoredText(MAX_ERROR_TYPE, cut=True), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_tasks_parent_id", "parent_id"),
        Index("ix_tasks_status", "status"),
        Index("ix_tasks_user_id", "user_id"),
    )

    @property
    def executor_id(self) -> str:
        """The executor that runs this task: ``schemas.method``, else the task name."""
        method = (self.schemas or {}).get("method")
        return method or self.name

    @property
    def type(self) -> str:
        """Alias of :attr:`executor_id` (the guide's hooks read ``task.type``)."""
        return self.executor_id

    @property
    def spec_id(self) -> str:
        """The id the task had in its tree spec (kept in params), else the stored id."""
        return (self.params or {}).get("spec_id") or self.id

    def dependency_ids(self) -> list[str]:
        return [d["id"] for d in self.dependencies or []]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot of every column (timestamps as ISO strings)."""
        out: dict[str, Any] = {}
        for column in self.__table__.columns:
            value = getattr(self, column.key)
            out[column.key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def __repr__(self) -> str:
        return f"<Task {self.id[:8]} {self.name!r} {self.status}>"


class MetaModel(Base):
    """Key/value rows for the schema version (migration-friendly without Alembic yet)."""

    __tablename__ = "apflow_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


def change(task: TaskModel, **fields: Any) -> str:
    """Check the status change in ``fields``, then set them on ``task``; returns the old status.

    The values are set as already stored: the caller writes them (usually in a batch),
    so the session must not write them a second time.
    """
    old = task.status
    new = fields.get("status", old)
    if new != old:
        check_transition(task.id, old, new)
    for key, value in fields.items():
        set_committed_value(task, key, value)
    return old
