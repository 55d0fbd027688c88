"""JSON Schemas of each phase's answer: what the validator checks, moved into the decoding.

A backend that decodes under these schemas (the embedded model through llguidance, a hosted
model with structured outputs) can only write trees whose structure, ids, executors and
input types are right, so the model makes only the choices that need judgement:

- **Ids by position.** Task k is ``t{k}``, a ``const``; in the structure phase the ids and
  executors come from the plan. Forced text costs the local backend no decoding step.
- **A DAG by construction.** ``prefixItems`` gives every position its own schema: task k's
  ``dependencies`` and the ids inside its ``${...}`` references are an enum of the ids
  before it, so a dangling dependency, a self-dependency or a cycle cannot be written.
- **Per-executor inputs.** Each position is an ``anyOf`` over the offered executors; a
  branch fixes ``schemas.method`` and constrains ``inputs`` with that executor's registered
  input schema (required fields, types, enums, no unknown keys). Every value may also be a
  ``${id.result...}`` reference, because wiring is legitimate anywhere.
- **Declared output fields.** Where the producing executor is known (the structure phase:
  the plan fixes it), a reference may only follow the fields its output schema declares.

The schemas use only what grammar compilers and providers' structured outputs support
(``if``/``then`` rules are expanded into ``anyOf`` branches; other keywords they do not
know are dropped). They may be looser than the registered schema, never stricter: the
validator stays the gate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from apflow.spec.models import AGGREGATOR

#: The most working tasks (plan steps) a generated tree may have. Gold trees in every eval
#: suite have at most 5; the bound keeps the grammar small and a runaway answer short.
MAX_TASKS = 10
#: Free-text plan descriptions are cut here, so a looping model cannot run on.
MAX_DOES_CHARS = 160
#: Deeper input schemas are accepted as any JSON value (the validator still checks them).
MAX_SCHEMA_DEPTH = 6
#: Arrays in inputs hold at most this many items (or the schema's own smaller bound): a small
#: model that starts repeating an item would otherwise run to the output budget.
MAX_ARRAY_ITEMS = 10
#: Strings in inputs hold at most this many characters (or the schema's own smaller bound).
#: Greedy decoding of a small model can fall into a loop inside a string ("QYJtQYJt..." seen
#: on NESTFUL) that runs to the output budget and leaves the JSON unfinished, and a re-ask
#: with the same prompt loops again; cut here, the answer closes and stays a tree.
MAX_STRING_CHARS = 600
#: Integers in inputs stay within JSON's safe range (what a double holds exactly, so what
#: JavaScript and most JSON readers keep intact) unless the schema bounds them itself.
#: A looping model wrote ``"limit":1000000000000000000000000``; past this bound the grammar
#: makes it close the number instead.
MAX_SAFE_INTEGER = 2**53 - 1

_SEGMENT = r"(\.[A-Za-z0-9_\-]+|\[[0-9]+\])"
_ANY_PATH = _SEGMENT + "*"
_FIELD_NAME = re.compile(r"[A-Za-z0-9_\-]+")
#: How deep a reference path follows the producer's output schema; below, any path.
MAX_OUTPUT_DEPTH = 4
_SCALARS = frozenset({"string", "number", "integer", "boolean", "null"})
#: The earlier tasks a value may refer to: ids, or ids mapped to the pattern of the paths
#: their results have (after ``.result``), when the producing executor is known.
Earlier = Sequence[str] | Mapping[str, str]
_DROPPED = {"description", "default", "title", "examples", "$comment", "deprecated"}
_NUMBER_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def position_id(k: int) -> str:
    """The id of the k-th working task (1-based)."""
    return f"t{k}"


def result_paths(output_schema: Any, depth: int = 0) -> str:
    """The pattern of the paths into a result shaped by ``output_schema`` (empty included).

    Only the fields the executor declares: a reference to any other field is a run-time
    ``reference_error`` (every tree of the recorded runs that was valid but did not run
    failed that way: ``${t1.result.business_id}`` on a result without it). An executor
    without an output schema, or an open part of one, takes any path.
    """
    if not isinstance(output_schema, dict) or depth >= MAX_OUTPUT_DEPTH:
        return _ANY_PATH
    kind = output_schema.get("type")
    props = output_schema.get("properties")
    if kind == "object" or (kind is None and isinstance(props, dict)):
        props = props if isinstance(props, dict) else {}
        if not props or output_schema.get("additionalProperties") not in (None, False):
            return _ANY_PATH
        # a field a reference cannot spell ("Exchange Rate") is reached through the whole
        # result; with no field it can spell, the whole result is all it may name
        fields = [k for k in props if isinstance(k, str) and _FIELD_NAME.fullmatch(k)]
        if not fields:
            return ""
        branches = [
            r"\." + re.escape(k) + result_paths(props[k], depth + 1) for k in sorted(fields)
        ]
        return "(" + "|".join(branches) + ")?"
    if kind == "array" and isinstance(output_schema.get("items"), dict):
        return r"(\[[0-9]+\]" + result_paths(output_schema["items"], depth + 1) + ")?"
    kinds = kind if isinstance(kind, list) else [kind]
    if kinds and all(isinstance(k, str) and k in _SCALARS for k in kinds):
        return ""
    return _ANY_PATH


def _reference(earlier: Earlier) -> str:
    paths_of = earlier if isinstance(earlier, Mapping) else dict.fromkeys(earlier, _ANY_PATH)
    by_paths: dict[str, list[str]] = {}
    for task_id, paths in paths_of.items():
        by_paths.setdefault(paths, []).append(re.escape(task_id))
    branches = ["(" + "|".join(ids) + r")\.result" + paths for paths, ids in by_paths.items()]
    return r"\$\{(" + "|".join(branches) + r")\}"


def whole_reference(earlier: Earlier) -> dict[str, Any] | None:
    """A string that is exactly one reference to an earlier task (None when there is none)."""
    if not earlier:
        return None
    return {"type": "string", "pattern": "^" + _reference(earlier) + "$"}


def text_with_references(earlier: Earlier) -> str:
    """Any text in which every ``${`` starts a reference to an earlier task."""
    plain = r"[^$]|\$+[^${]"
    if earlier:
        plain += r"|\$*" + _reference(earlier)
    return "^(" + plain + r")*\$*$"


def _or_reference(schema: dict[str, Any], earlier: Earlier) -> dict[str, Any]:
    ref = whole_reference(earlier)
    if ref is None:
        return schema
    members = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
    return {"anyOf": [*members, ref]}


def _discriminated(schema: dict[str, Any]) -> tuple[str, dict[Any, list[str]]] | None:
    """``allOf: [{if: {properties: {k: {const: v}}}, then: {required: [...]}}, ...]`` as
    ``(k, {v: required})``, or None when the ``allOf`` is anything else."""
    rules = schema.get("allOf")
    if not isinstance(rules, list) or not rules:
        return None
    key = None
    required: dict[Any, list[str]] = {}
    for rule in rules:
        cond = rule.get("if") if isinstance(rule, dict) else None
        then = rule.get("then") if isinstance(rule, dict) else None
        props = cond.get("properties") if isinstance(cond, dict) else None
        if not isinstance(props, dict) or len(props) != 1 or not isinstance(then, dict):
            return None
        ((name, test),) = props.items()
        if not isinstance(test, dict) or "const" not in test or (key and name != key):
            return None
        if set(then) - {"required"} or not isinstance(then.get("required", []), list):
            return None
        key = name
        required.setdefault(test["const"], []).extend(then.get("required", []))
    return (key, required) if key else None


def _object(schema: dict[str, Any], earlier: Earlier, depth: int) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required", []) if isinstance(r, str)]
    split = _discriminated(schema)
    if split is not None and split[0] in props:
        key, extra = split
        values = props[key].get("enum") if isinstance(props[key], dict) else None
        values = values if isinstance(values, list) else list(extra)
        base = {k: v for k, v in schema.items() if k != "allOf"}
        branches = []
        for value in values:
            branch = {**base, "properties": {**props, key: {"const": value}}}
            branch["required"] = list(dict.fromkeys([key, *required, *extra.get(value, [])]))
            branches.append(_object(branch, earlier, depth))
        return {"anyOf": branches}
    out: dict[str, Any] = {"type": "object"}
    if props:
        # required first: once they are written the model may close the object
        order = [k for k in required if k in props] + [k for k in props if k not in required]
        out["properties"] = {k: convert(props[k], earlier, depth + 1) for k in order}
    if required:
        out["required"] = required
    extra_props = schema.get("additionalProperties")
    if extra_props is False or (props and extra_props is None):
        out["additionalProperties"] = False
    elif isinstance(extra_props, dict) and extra_props:
        out["additionalProperties"] = convert(extra_props, earlier, depth + 1)
    for bound in ("minProperties", "maxProperties"):
        if isinstance(schema.get(bound), int):
            out[bound] = schema[bound]
    return out


def _typed(schema: dict[str, Any], kind: str, earlier: Earlier, depth: int) -> Any:
    if kind == "object":
        return _object(schema, earlier, depth)
    if kind == "array":
        out: dict[str, Any] = {"type": "array"}
        if isinstance(schema.get("items"), dict):
            out["items"] = convert(schema["items"], earlier, depth + 1)
        if isinstance(schema.get("prefixItems"), list):
            out["prefixItems"] = [convert(s, earlier, depth + 1) for s in schema["prefixItems"]]
        if isinstance(schema.get("minItems"), int):
            out["minItems"] = schema["minItems"]
        limit = schema.get("maxItems")
        out["maxItems"] = min(limit, MAX_ARRAY_ITEMS) if isinstance(limit, int) else MAX_ARRAY_ITEMS
        return out
    if kind == "string":
        out = {"type": "string"}
        shortest, longest = schema.get("minLength"), schema.get("maxLength")
        if isinstance(shortest, int):
            out["minLength"] = shortest
        cap = max(MAX_STRING_CHARS, shortest if isinstance(shortest, int) else 0)
        out["maxLength"] = min(longest, cap) if isinstance(longest, int) else cap
        if isinstance(schema.get("pattern"), str):
            out["pattern"] = schema["pattern"]
        elif "format" not in schema:
            # free text: interpolated references may only name earlier tasks
            out["pattern"] = text_with_references(earlier)
        return out
    if kind in ("number", "integer"):
        out = {"type": kind}
        for bound in _NUMBER_BOUNDS:
            value = schema.get(bound)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[bound] = value
        if kind == "integer":
            if "minimum" not in out and "exclusiveMinimum" not in out:
                out["minimum"] = -MAX_SAFE_INTEGER
            if "maximum" not in out and "exclusiveMaximum" not in out:
                out["maximum"] = MAX_SAFE_INTEGER
        return out
    if kind in ("boolean", "null"):
        return {"type": kind}
    return {}


def convert(schema: Any, earlier: Earlier, depth: int = 0) -> dict[str, Any]:
    """An executor's input (sub)schema as a decoding schema for a task after ``earlier``."""
    if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH:
        return {}
    schema = {k: v for k, v in schema.items() if k not in _DROPPED}
    if "const" in schema:
        return _or_reference({"const": schema["const"]}, earlier)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _or_reference({"enum": schema["enum"]}, earlier)
    for combinator in ("anyOf", "oneOf"):
        if isinstance(schema.get(combinator), list) and schema[combinator]:
            members = [convert(m, earlier, depth + 1) for m in schema[combinator]]
            if any(m == {} for m in members):
                return {}
            return _or_reference({"anyOf": members}, earlier)
    kind = schema.get("type")
    if kind is None and ("properties" in schema or "additionalProperties" in schema):
        kind = "object"
    if isinstance(kind, list):
        members = [_typed(schema, k, earlier, depth) for k in kind if isinstance(k, str)]
        if not members or any(m == {} for m in members):
            return {}
        return _or_reference({"anyOf": members}, earlier)
    if not isinstance(kind, str):
        return {}  # any JSON value
    typed = _typed(schema, kind, earlier, depth)
    if typed == {}:
        return {}
    if kind == "string" and typed.get("pattern") == text_with_references(earlier):
        return typed  # free text already admits a whole reference
    return _or_reference(typed, earlier)


def strict_inputs(input_schema: Any, earlier: Earlier) -> dict[str, Any]:
    """The ``inputs`` object of a task after ``earlier``; always an object, never a reference."""
    schema = input_schema if isinstance(input_schema, dict) else {}
    return _object({**schema, "type": "object"}, earlier, 0)


def _dependencies(earlier: Earlier) -> dict[str, Any]:
    ids = list(earlier)
    return {
        "type": "array",
        "items": {
            "anyOf": [
                {"enum": ids},
                {
                    "type": "object",
                    "properties": {"id": {"enum": ids}, "required": {"const": False}},
                    "required": ["id", "required"],
                    "additionalProperties": False,
                },
            ]
        },
        "minItems": 1,
        "maxItems": len(ids),
    }


def task_schema(
    k: int,
    entry: dict[str, Any],
    earlier: Earlier,
    needs: list[Any] | None = None,
) -> dict[str, Any]:
    """Task k written with executor ``entry`` (a registry description). With ``needs`` (from
    the plan) its dependencies are exactly those; without, any earlier tasks."""
    props: dict[str, Any] = {
        "id": {"const": position_id(k)},
        "schemas": {
            "type": "object",
            "properties": {"method": {"const": entry["id"]}},
            "required": ["method"],
            "additionalProperties": False,
        },
        "inputs": strict_inputs(entry.get("input_schema"), earlier),
    }
    required = ["id", "schemas", "inputs"]
    if needs:
        props["dependencies"] = {"const": needs}
        required.append("dependencies")
    elif earlier and needs is None:
        props["dependencies"] = _dependencies(earlier)
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _words(name: str) -> list[str]:
    """``include_links`` / ``maxChars`` -> ``["include", "links"]`` / ``["max", "chars"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split() if w]


def asked_inputs(entries: Sequence[dict[str, Any]], requirement: str) -> list[dict[str, Any]]:
    """The entries with each optional input that has a default (or that the executor lists in
    ``unasked_inputs``) left out of the grammar, unless the request names it (a word of its
    name, 4 letters or more) or it is an enum with a default (``method``).

    Why: the 1.5B model fills every optional field the grammar offers (``"max_bytes":
    1048576000000000``, ``"selector": "h1"``, ``"json": {}`` on a GET), which costs decoding
    time, makes calls the request never asked for, and seems to end trees early. A default is
    what an unnamed option should be; the catalogue text is unchanged, so a request that names
    the option (``timeout``, ``links``, ``json``) still gets it.
    """
    text = requirement.lower()
    out = []
    for entry in entries:
        schema = entry.get("input_schema")
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict):
            out.append(entry)
            continue
        required = set(schema.get("required") or [])
        unasked = set(entry.get("unasked_inputs") or ())
        kept = {
            name: field
            for name, field in props.items()
            if name in required
            or not isinstance(field, dict)
            or ("default" not in field and name not in unasked)
            or ("enum" in field and name not in unasked)
            or any(len(w) >= 4 and w.rstrip("s") in text for w in _words(name))
        }
        out.append(
            entry
            if len(kept) == len(props)
            else {**entry, "input_schema": {**schema, "properties": kept}}
        )
    return out


def working_entries(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The offer without the aggregator: the root is added for the model, not by it."""
    return [e for e in entries if e["id"] != AGGREGATOR] or list(entries)


def _tasks_object(key: str, positions: list[dict[str, Any]], min_items: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            key: {
                "type": "array",
                "prefixItems": positions,
                "items": False,
                "minItems": min_items,
                "maxItems": len(positions),
            }
        },
        "required": [key],
        "additionalProperties": False,
    }


def strict_tree_schema(
    entries: Sequence[dict[str, Any]], max_tasks: int = MAX_TASKS
) -> dict[str, Any]:
    """``{"tasks": [...]}``: up to ``max_tasks`` working tasks over the offered executors.

    No aggregator and no ``parent_id``: the root is added by deterministic repair, which is
    cheaper and more reliable than asking a small model for it.
    """
    working = working_entries(entries)
    positions = []
    for k in range(1, max_tasks + 1):
        earlier = [position_id(j) for j in range(1, k)]
        branches = [task_schema(k, e, earlier) for e in working]
        positions.append(branches[0] if len(branches) == 1 else {"anyOf": branches})
    return _tasks_object("tasks", positions, 1)


def planned_tree_schema(
    entries: Sequence[dict[str, Any]], steps: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The structure phase: one task per plan step, its id, executor and dependencies fixed
    by the plan. What is left to write is each task's inputs and ``${...}`` wiring, and
    since every earlier step's executor is known, a reference may only name a field that
    executor's output schema declares. Steps whose executor is not on offer fall back to
    every offered executor (and references to them to any path).
    """
    by_id = {e["id"]: e for e in working_entries(entries)}
    positions = []
    for k, step in enumerate(steps, start=1):
        earlier = {
            position_id(j): result_paths(
                (by_id.get(before.get("executor", "")) or {}).get("output_schema")
            )
            for j, before in enumerate(steps[: k - 1], start=1)
        }
        entry = by_id.get(step.get("executor", ""))
        chosen = [entry] if entry is not None else list(by_id.values())
        needs = [n for n in step.get("needs", []) if need_id(n) in earlier]
        branches = [task_schema(k, e, earlier, needs) for e in chosen]
        positions.append(branches[0] if len(branches) == 1 else {"anyOf": branches})
    return _tasks_object("tasks", positions, len(positions))


def need_id(need: Any) -> Any:
    """The task id a need or dependency names: ``"t1"`` or ``{"id": "t1", ...}``."""
    return need.get("id") if isinstance(need, dict) else need


def strict_plan_schema(executor_ids: Sequence[str], max_steps: int = MAX_TASKS) -> dict[str, Any]:
    """``{"steps": [{"id", "does", "executor", "needs"}]}``; step k may need only earlier steps,
    written like dependencies (``"t1"``, or ``{"id": "t1", "required": false}`` for a fallback).

    The aggregator stays on the menu although the generator adds the root itself: a small
    model that wants a "collect the results" step then writes it with the aggregator, and the
    plan drops that step, instead of dressing it up as an LLM call or a shell command.
    """
    working = sorted(i for i in executor_ids if i != AGGREGATOR) or sorted(executor_ids)
    if AGGREGATOR in executor_ids and working != [AGGREGATOR]:
        working.append(AGGREGATOR)
    positions = []
    for k in range(1, max_steps + 1):
        earlier = [position_id(j) for j in range(1, k)]
        needs = _dependencies(earlier) if earlier else {"type": "array", "maxItems": 0}
        needs.pop("minItems", None)
        positions.append(
            {
                "type": "object",
                "properties": {
                    "id": {"const": position_id(k)},
                    "does": {"type": "string", "minLength": 1, "maxLength": MAX_DOES_CHARS},
                    "executor": {"enum": working},
                    "needs": needs,
                },
                "required": ["id", "does", "executor", "needs"],
                "additionalProperties": False,
            }
        )
    return _tasks_object("steps", positions, 1)


def methods_by_position(schema: dict[str, Any]) -> list[list[str]]:
    """The executor ids a tree schema allows at each position (for tests and debugging)."""
    key = next(iter(schema["properties"]))
    out = []
    for position in schema["properties"][key]["prefixItems"]:
        branches = position.get("anyOf", [position])
        out.append([b["properties"]["schemas"]["properties"]["method"]["const"] for b in branches])
    return out
