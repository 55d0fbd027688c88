"""transform_executor: reshape data between tasks without running code.

Generated trees need "merge the results" and "take field X" steps; a model that can only
choose from a handful of declarative operations cannot inject code. Operations run in order,
each on the previous one's output, starting from ``data`` (or the results of ``sources``, or
every dependency result injected into the inputs).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from apflow.core.errors import ApflowError
from apflow.core.executor import BaseTask, completed, failed

_RESERVED = {"data", "sources", "operations"}
_OPS = ["pick", "pluck", "merge", "filter", "template", "count", "length"]
_PATH = {
    "type": "string",
    "description": "dotted path 'a.b.0.c' or JSONPath '$.a.b[0]', '$.items[*].name'",
}
_MISSING = object()  # "no default given": a missing path is an error
_ABSENT = object()  # filter: a missing field simply does not match


class TransformError(ApflowError):
    """An operation that cannot be applied to the data; ``error_type`` goes into the result."""

    def __init__(self, message: str, error_type: str = "transform_error") -> None:
        super().__init__(message)
        self.error_type = error_type


def _requires(op: str, *fields: str) -> dict[str, Any]:
    return {"if": {"properties": {"op": {"const": op}}}, "then": {"required": list(fields)}}


class TransformExecutor(BaseTask):
    id = "transform_executor"
    effects = "read"
    name = "Transform data"
    description = (
        "Reshape data without code, when the request asks for it: pick, pluck, merge, filter, "
        "template or count (operations); an LLM needs no reshaping before it reads a result. "
        "Data comes from 'data', or merged from the results of the dependency ids in 'sources'."
    )
    #: Offered to the generator only when the request asks for reshaping: every result is
    #: collected by the root anyway, and small models otherwise add a merge nobody wanted.
    offer_when = (
        r"\b(merg\w*|combin\w* (?:\w+ ){0,3}into|pick\w*|pluck\w*|filter\w*|keep(?:ing)? only"
        r"|only (?:the|those|items|entries|records|rows)|fields?|templat\w*|format\w*"
        r"|reshap\w*|transform\w*|count\w*|renam\w*|flatten\w*)\b"
    )
    input_schema = {
        "type": "object",
        "properties": {
            "data": {"description": "the value to transform (any JSON)"},
            "sources": {
                "type": "array",
                "items": {"type": "string"},
                "description": "dependency task ids whose results are merged to form the data",
            },
            "operations": {
                "type": "array",
                "description": "list of {op: pick|pluck|merge|filter|template|count, ...}",
                "items": {
                    "type": "object",
                    "required": ["op"],
                    "properties": {
                        "op": {"enum": _OPS, "description": "the operation"},
                        "path": {**_PATH, "description": "pick/pluck: path to the value"},
                        "fields": {
                            "type": "object",
                            "additionalProperties": _PATH,
                            "description": "pick: {output_name: path} builds a new object",
                        },
                        "default": {"description": "pick/pluck: value when a path is missing"},
                        "with": {"description": "merge: value(s) merged into the current one"},
                        "deep": {"type": "boolean", "default": True, "description": "merge"},
                        "where": {
                            "type": "object",
                            "description": "filter: keep items whose {path: value} all match",
                        },
                        "template": {
                            "type": "string",
                            "description": "template: text with {field.path} placeholders",
                        },
                    },
                    "allOf": [
                        _requires("pluck", "path"),
                        _requires("filter", "where"),
                        _requires("template", "template"),
                    ],
                },
            },
        },
    }
    output_schema = {"description": "the transformed value"}

    async def execute(self, inputs: dict[str, Any]) -> dict[str, Any]:
        invalid = self.validate_inputs(inputs)
        if invalid:
            return invalid
        try:
            value = _initial(inputs, _absent_optional(self.context))
        except TransformError as exc:
            return failed(str(exc), exc.error_type)
        for index, op in enumerate(inputs.get("operations") or []):
            try:
                value = apply(op, value)
            except TransformError as exc:
                return failed(f"operations/{index} ({op['op']}): {exc}", exc.error_type)
        return completed(value)


def _absent_optional(context: Any) -> set[str]:
    """Keys of optional dependencies that ended without a result (a fallback's primary that
    failed): a merge of "whichever arrived" leaves them out instead of failing."""
    if context is None:
        return set()
    return {d.key for d in context.dependencies if not d.required and d.status != "completed"}


def _initial(inputs: dict[str, Any], absent: Collection[str] = ()) -> Any:
    if "sources" in inputs:
        arrived = [s for s in inputs["sources"] if s in inputs]
        missing = [s for s in inputs["sources"] if s not in inputs and s not in absent]
        if not arrived and inputs["sources"] and not missing:
            raise TransformError(
                f"none of the sources {inputs['sources']} arrived (every one failed)",
                "missing_source",
            )
        if missing:
            raise TransformError(
                f"sources {missing} have no result in the inputs; list them as dependencies",
                "missing_source",
            )
        parts = [inputs[s] for s in arrived]
        return merge_all(parts) if parts else {}
    if "data" in inputs:
        return inputs["data"]
    return {k: v for k, v in inputs.items() if k not in _RESERVED}


def apply(op: dict[str, Any], value: Any) -> Any:
    """One operation on ``value``; :class:`TransformError` explains misuse."""
    kind = op["op"]
    if kind == "pick":
        if "fields" in op:
            return {
                name: get_path(value, p, op.get("default", _MISSING))
                for name, p in op["fields"].items()
            }
        if "path" not in op:
            raise TransformError("needs 'path' or 'fields'", "validation_error")
        return get_path(value, op["path"], op.get("default", _MISSING))
    if kind == "pluck":
        return [get_path(item, op["path"], op.get("default", _MISSING)) for item in _list(value)]
    if kind == "merge":
        extra = op.get("with", _MISSING)
        if extra is _MISSING:
            return merge_all(_list(value), deep=op.get("deep", True))
        others = extra if isinstance(extra, list) and not isinstance(value, list) else [extra]
        return merge_all([value, *others], deep=op.get("deep", True))
    if kind == "filter":
        where = op["where"]
        return [
            item
            for item in _list(value)
            if all(get_path(item, p, _ABSENT) == want for p, want in where.items())
        ]
    if kind == "template":
        return render(op["template"], value)
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise TransformError(f"cannot count a {type(value).__name__}", "type_error")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TransformError(f"expects a list, got {type(value).__name__}", "type_error")
    return value


# -- paths ------------------------------------------------------------------------------

_JSONPATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]|\[['\"]([^'\"]+)['\"]\]|\.?\*")


def parse_path(path: str) -> list[str | int]:
    """``"a.b.0"`` or ``"$.a['b c'][0][*]"`` -> ``["a", "b", 0, "*"]``."""
    if path in ("", "$"):
        return []
    if not path.startswith("$"):
        return [int(p) if p.isdigit() else p for p in path.split(".")]
    out: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _JSONPATH_TOKEN.match(path, pos)
        if not match:
            raise TransformError(
                f"unsupported JSONPath {path!r} at {path[pos:]!r}", "validation_error"
            )
        name, index, quoted = match.groups()
        if name is not None:
            out.append("*" if name == "*" else name)
        elif index is not None:
            out.append("*" if index == "*" else int(index))
        elif quoted is not None:
            out.append(quoted)
        else:
            out.append("*")
        pos = match.end()
    return out


def get_path(value: Any, path: str, default: Any = _MISSING) -> Any:
    """The value at ``path``; ``default`` (or :class:`TransformError`) when it is missing."""
    try:
        return _walk(value, parse_path(path))
    except LookupError:
        if default is not _MISSING:
            return default
        raise TransformError(f"path {path!r} not found", "path_not_found") from None


def _walk(value: Any, segments: list[str | int]) -> Any:
    for i, seg in enumerate(segments):
        if seg == "*":
            items = value.values() if isinstance(value, dict) else value
            if not isinstance(items, (list, type({}.values()))):
                raise LookupError(seg)
            return [_walk(item, segments[i + 1 :]) for item in items]
        if isinstance(value, dict):
            key = seg if seg in value else str(seg)
            value = value[key]
        elif isinstance(value, list) and isinstance(seg, int):
            value = value[seg]
        elif isinstance(value, list) and isinstance(seg, str) and seg.lstrip("-").isdigit():
            value = value[int(seg)]
        else:
            raise LookupError(seg)
    return value


# -- merge and template -----------------------------------------------------------------


def merge_all(values: list[Any], *, deep: bool = True) -> Any:
    """Dicts merge (later keys win; nested dicts too when ``deep``); lists concatenate."""
    if not values:
        return {}
    if all(isinstance(v, dict) for v in values):
        out: dict[str, Any] = {}
        for v in values:
            out = _merge_dicts(out, v) if deep else {**out, **v}
        return out
    if all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    kinds = sorted({type(v).__name__ for v in values})
    raise TransformError(f"can only merge all-dicts or all-lists, got {kinds}", "type_error")


def _merge_dicts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge_dicts(out[key], value)
        else:
            out[key] = value
    return out


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def render(template: str, data: Any) -> str:
    """Fill ``{field.path}`` placeholders from ``data``; ``{{``/``}}`` are literal braces."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = get_path(data, match.group(1).strip())
        return value if isinstance(value, str) else _compact(value)

    return _PLACEHOLDER.sub(fill, template)


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
