"""generate_executor: a plain-English requirement in, a validated task tree out (and run it).

It lives with the service, above the generator, because it generates and stores and runs
trees; it registers through its own ``apflow.executors`` entry point (``generate``).
Inside a run it uses that run's registry and database. The generator is imported inside
``execute`` so that registering executors does not pull in the model layer.
"""

from __future__ import annotations

from typing import Any

from apflow.core.errors import ApflowError, ConfigError, GenerationError, LLMError
from apflow.core.executor import BaseTask, Effect, completed, failed
from apflow.generator.result import GenerationMode


class GenerateExecutor(BaseTask):
    id = "generate_executor"
    effects = "write"
    effects_note = "read when it only generates; write with run: true (it stores and runs a tree)"
    name = "Generate a task tree"
    description = (
        "Turn a plain-English workflow description into a validated task tree of registered "
        "executors; with run=true, store the tree and run it."
    )
    input_schema = {
        "type": "object",
        "required": ["requirement"],
        "properties": {
            "requirement": {
                "type": "string",
                "minLength": 1,
                "description": "the workflow in plain English, naming URLs and the steps",
            },
            "mode": {
                "type": "string",
                "enum": GenerationMode.spellings(
                    GenerationMode.SINGLE_SHOT, GenerationMode.MULTI_PHASE
                ),
                "default": "single_shot",
                "description": "multi_phase (or multi-phase) plans the steps first; better for "
                "3+ steps",
            },
            "model": {
                "type": "string",
                "description": "model string (local, provider/model, scripted:PATH); "
                "default APFLOW_MODEL",
            },
            "executors": {
                "type": "array",
                "items": {"type": "string"},
                "description": "allow-list of executor ids the tree may use",
            },
            "user_id": {"type": "string", "description": "owner of the stored tasks"},
            "run": {
                "type": "boolean",
                "default": False,
                "description": "store the tree and run it, returning the root's result",
            },
        },
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "tasks": {"type": "array", "description": "the validated tree (flat task list)"},
            "stats": {"type": "object", "description": "llm_calls, tokens, seconds by phase"},
            "mode": {"type": "string"},
            "model": {"type": "string"},
            "fixes": {"type": "array", "description": "deterministic repairs applied"},
            "warnings": {"type": "array", "description": "what a person should check"},
            "root_task_id": {"type": "string", "description": "stored root id (run=true)"},
            "status": {"type": "string", "description": "root status (run=true)"},
            "result": {"description": "the root's result (run=true)"},
        },
    }

    def effect(self, inputs: dict[str, Any]) -> Effect:
        run = inputs.get("run", False) if isinstance(inputs, dict) else True
        return Effect.READ if run is False else Effect.WRITE

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        from apflow.generator import generate_tree
        from apflow.service.trees import Service

        service = Service(
            self.context.database_url if self.context else None,
            registry=self.context.registry if self.context else None,
        )
        try:
            generated = await generate_tree(
                inputs["requirement"],
                mode=inputs.get("mode", "single_shot"),
                model=inputs.get("model"),
                registry=service.registry,
                executors=inputs.get("executors"),
            )
        except GenerationError as exc:
            issues = [i.model_dump() if hasattr(i, "model_dump") else i for i in exc.issues]
            return failed(str(exc), "generation_failed", issues=issues)
        except (ConfigError, LLMError) as exc:
            return failed(str(exc), "model_unavailable")
        payload: dict[str, Any] = {
            "tasks": generated.tree.to_list(),
            "stats": generated.stats.model_dump(),
            "mode": generated.mode,
            "model": generated.model,
            "fixes": generated.fixes,
            "warnings": generated.warnings,
        }
        if inputs.get("run"):
            try:
                stored = await service.store_and_run(generated.tree, user_id=inputs.get("user_id"))
            except ApflowError as exc:
                return failed(f"generated tree could not run: {exc}", "run_failed", **payload)
            root = stored[0]
            payload.update(
                root_task_id=root.id,
                status=str(root.status),
                result=root.result,
                summary=(root.result_meta or {}).get("summary"),
                error=root.error,
            )
        return completed(payload)
