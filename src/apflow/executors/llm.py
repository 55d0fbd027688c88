"""llm_executor: one chat completion through the generator's model layer.

The same model strings work here and in ``apflow generate`` (``provider/model`` via litellm,
``scripted:PATH``, ``local``). Prompts get dependency results through the engine's
``${task.result.path}`` references, resolved before ``execute`` runs; ``context`` appends
whole dependency results as JSON when a reference would be awkward.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, ClassVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from apflow.core.errors import ApflowError, ConfigError
from apflow.core.executor import BaseTask, completed, failed
from apflow.llm.json_answer import JSONParseError, parse_json

_CONTEXT_CHARS = 20_000


class LlmExecutor(BaseTask):
    id = "llm_executor"
    effects = "read"
    unasked_inputs = ("model", "context", "json_schema", "system")
    name = "LLM completion"
    description = (
        "One LLM answer to prompt (may embed ${id.result.x}): result.text, or result.json "
        "when json_output is true."
    )
    input_schema = {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {
                "type": "string",
                "minLength": 1,
                "description": "the question; may embed ${task_id.result.field}",
            },
            "system": {"type": "string", "description": "optional system message"},
            "context": {
                "type": "array",
                "items": {"type": "string"},
                "description": "dependency task ids whose results are appended to the prompt",
            },
            "model": {
                "type": "string",
                "description": "model string, e.g. openai/gpt-4o-mini; default APFLOW_MODEL",
            },
            "temperature": {
                "type": "number",
                "minimum": 0,
                "maximum": 2,
                "default": 0,
                "description": "sampling temperature; 0 is most repeatable",
            },
            "max_tokens": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65536,
                "default": 1024,
                "description": "longest answer, in tokens",
            },
            "json_output": {
                "type": "boolean",
                "default": False,
                "description": "parse the answer as JSON (result.json); fail if it is not",
            },
            "json_schema": {
                "type": "object",
                "description": "JSON Schema the answer must match (implies json_output)",
            },
            "timeout": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": 120,
                "description": "seconds to wait for the answer",
            },
        },
    }
    output_schema = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "the model's answer"},
            "json": {"description": "parsed answer when json_output is true"},
            "model": {"type": "string"},
            "usage": {
                "type": "object",
                "properties": {
                    "prompt_tokens": {"type": "integer"},
                    "completion_tokens": {"type": "integer"},
                },
            },
        },
    }

    #: Builds the client from a model string; None means ``apflow.llm.get_client``.
    client_factory: ClassVar[Callable[[str | None], Any] | None] = None

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        missing = [k for k in inputs.get("context") or [] if k not in inputs]
        if missing:
            return failed(
                f"context ids {missing} have no result in the inputs; list them as dependencies",
                "missing_source",
            )
        messages = [{"role": "system", "content": inputs["system"]}] if "system" in inputs else []
        messages.append({"role": "user", "content": _prompt(inputs)})
        schema = inputs.get("json_schema")
        if schema is not None and (problem := _bad_schema(schema)):
            return failed(problem, "validation_error")
        want_json = bool(inputs.get("json_output")) or schema is not None
        timeout = float(inputs.get("timeout", 120))
        try:
            client = self._client(inputs.get("model"))
            async with asyncio.timeout(timeout):
                answer = await client.complete(
                    messages,
                    json_schema=schema,
                    temperature=float(inputs.get("temperature", 0)),
                    max_tokens=int(inputs.get("max_tokens", 1024)),
                )
        except TimeoutError:
            return failed(f"model did not answer within {timeout}s", "timeout", retryable=True)
        except ConfigError as exc:
            return failed(str(exc), "config_error")
        except ApflowError as exc:
            return failed(str(exc), "llm_error", retryable=True)
        result: dict[str, Any] = {
            "text": answer.text,
            "model": answer.model or getattr(client, "model", ""),
            "usage": {
                "prompt_tokens": answer.usage.prompt_tokens,
                "completion_tokens": answer.usage.completion_tokens,
            },
        }
        if want_json:
            try:
                result["json"] = parse_json(answer.text)
            except JSONParseError as exc:
                return failed(f"model answer is not JSON: {exc}", "invalid_json", text=answer.text)
            if schema is not None:
                problem = _schema_problem(result["json"], schema)
                if problem:
                    return failed(problem, "invalid_json", text=answer.text)
        return completed(result)

    def _client(self, model: str | None) -> Any:
        factory = type(self).client_factory
        if factory is not None:
            return factory(model)
        from apflow.llm import get_client

        return get_client(model)


def _prompt(inputs: dict[str, Any]) -> str:
    parts = [inputs["prompt"]]
    for key in inputs.get("context") or []:
        value = inputs[key]
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)
        parts.append(f"[{key}]\n{text[:_CONTEXT_CHARS]}")
    return "\n\n".join(parts)


def _bad_schema(schema: dict[str, Any]) -> str | None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"json_schema is not a valid JSON Schema: {exc.message}"
    return None


def _schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "answer"
    return f"model answer does not match json_schema at {where}: {error.message}"
