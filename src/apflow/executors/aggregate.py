"""aggregate_results_executor: the root of a tree, collecting its dependencies' outcomes."""

from __future__ import annotations

from typing import Any

from apflow.core.executor import BaseTask, completed, failed


class AggregateResultsExecutor(BaseTask):
    """Runs once every dependency has finished, whatever it ended with (``collects_outcomes``).

    Completed dependencies' results make the result; every dependency's status is in
    ``statuses`` and every error in ``errors``. The root fails (``dependency_failed``,
    keeping the results it has) when a required dependency did not complete.
    """

    id = "aggregate_results_executor"
    effects = "read"
    name = "Aggregate results"
    description = (
        "Root of a task tree: waits for every task it depends on, whatever it ended with, and "
        "returns their results keyed by task id, with each one's status and error; fails "
        "when a required one did not complete."
    )
    input_schema = {
        "type": "object",
        "properties": {
            "format": {
                "type": "string",
                "enum": ["dict", "list", "text"],
                "default": "dict",
                "description": "dict: {task_id: result}; list: results in dependency order; "
                "text: one line per task",
            }
        },
    }
    output_schema = {"type": "object"}
    collects_outcomes = True

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        fmt = self._format(inputs)
        invalid = self.validate_inputs({"format": fmt})
        if invalid:
            return invalid
        outcomes = self.context.dependencies if self.context else []
        summary = {"completed": 0, "failed": 0, "skipped": 0, "cancelled": 0}
        for dep in outcomes:
            summary[dep.status] = summary.get(dep.status, 0) + 1
        if self.context is None:  # called directly: aggregate what the inputs carry
            results: Any = {k: v for k, v in inputs.items() if k != "format"}
        elif fmt == "list":
            results = [d.result for d in outcomes if d.status == "completed"]
        elif fmt == "text":
            results = "\n".join(
                f"{d.key}: {d.status}" + (f" - {d.error}" if d.error else "") for d in outcomes
            )
        else:
            results = {d.key: d.result for d in outcomes if d.status == "completed"}
        errors = {d.key: d.error for d in outcomes if d.status != "completed" and d.error}
        extra: dict[str, Any] = {"errors": errors} if errors else {}
        if outcomes:
            extra["statuses"] = {d.key: d.status for d in outcomes}
        missing = [d for d in outcomes if d.required and d.status != "completed"]
        if missing:
            named = ", ".join(f"'{d.key}' {d.status}" for d in missing)
            return failed(
                f"required task(s) {named}",
                "dependency_failed",
                result=results,
                summary=summary,
                **extra,
            )
        return completed(results, summary=summary, **extra)

    def _format(self, inputs: dict[str, Any]) -> Any:
        """The task's own ``format``; a dependency whose id is "format" is not an option."""
        if self.context is not None:
            injected = {d.key for d in self.context.dependencies}
            own = self.context.task.inputs or {}
            if "format" in injected and "format" not in own:
                return "dict"
        return inputs.get("format", "dict")
