"""Hostile input (issue 15): limits bound the work, nothing raises, repair is one pass, and
what validate accepts is stored and run.

The reproductions of the issue are kept as regression tests; the properties run hostile
trees and junk values (deep, huge, not JSON) through validate -> repair -> validate.
``APFLOW_SPEC_EXAMPLES`` raises the example budget (``benchmarks/fuzz.py`` for long runs).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apflow import TaskManager, create_session
from apflow.core.database import dispose_engines
from apflow.core.errors import ValidationFailed
from apflow.core.states import TERMINAL_STATES
from apflow.spec import Limits, TaskTreeSpec, create_tree, repair_tree, validate_tree
from apflow.spec.limits import MAX_NUMBER_DIGITS
from apflow.spec.report import ISSUES_PER_TASK
from apflow.spec.structure import SUGGESTIONS

from .conftest import good_tree, task
from .test_properties import FAST, REGISTRY

AGG = "aggregate_results_executor"


def value_of_text(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when JSON text parses to a value that is not read as text again."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return False, None
    return not isinstance(parsed, str), parsed  # a str is read as JSON text again


def deep(n: int, leaf: Any = 1) -> Any:
    value = leaf
    for k in range(n):
        value = {"a": value} if k % 2 else [value]
    return value


def printable(report: Any) -> None:
    """Every issue survives --json on a UTF-8 terminal (no lone surrogates, bounded size)."""
    for issue in report.issues:
        text = json.dumps(issue.model_dump(), ensure_ascii=False)
        text.encode("utf-8")
        assert len(text) < 2000, text[:200]


def refused(tree: Any, code: str, **kw: Any) -> Any:
    """validate_tree reports ``code``, and repair_tree (default limits) refuses it cleanly."""
    report = validate_tree(tree, REGISTRY, **kw)
    assert code in report.codes(), report.to_text()
    printable(report)
    if "limits" not in kw:
        with pytest.raises(ValidationFailed) as info:
            repair_tree(tree, registry=REGISTRY)
        printable(info.value.report)
    return report.by_code(code)[0]


# -- 1. the validator hang -------------------------------------------------------------------


def test_many_dangling_dependencies_run_difflib_a_bounded_number_of_times(monkeypatch):
    """Repro 1 in small: 40 tasks x 100 dangling ids ran difflib once per dangling id."""
    calls = []
    real = difflib.get_close_matches
    monkeypatch.setattr(
        difflib, "get_close_matches", lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    )
    ids = [f"{i:08d}" for i in range(40)]
    tree = [task("root", AGG, dependencies=ids)]
    tree += [
        task(tid, parent_id="root", dependencies=[f"{i:04d}{j:04d}x" for j in range(100)])
        for i, tid in enumerate(ids)
    ]
    report = validate_tree(json.dumps(tree), REGISTRY)
    assert len(calls) <= SUGGESTIONS
    missing = report.by_code("missing_dependency")
    assert len(missing) == 40 * (ISSUES_PER_TASK + 1)  # each task: 10 listed, 1 sum
    assert "did you mean" in missing[0].hint and "did you mean" not in missing[-2].hint
    summary = missing[ISSUES_PER_TASK]
    assert summary.path == "tasks[1].dependencies" and summary.task_id == "00000000"
    assert summary.message.startswith(f"and {100 - ISSUES_PER_TASK} more dependencies")
    assert '"00000010x", ' in summary.message and summary.message.endswith(", ...)")


def test_reference_and_input_issues_are_listed_ten_per_task_then_summed_up(registry):
    tree = good_tree()
    tree[2]["inputs"] = {"prompt": " ".join(f"${{ghost{i}.result}}" for i in range(25))}
    tree[2]["inputs"]["extra"] = ["${bad}"] * 30
    report = validate_tree(tree, REGISTRY)
    undeclared = report.by_code("undeclared_reference")
    assert len(undeclared) == ISSUES_PER_TASK + 1
    assert undeclared[-1].message.startswith("and 15 more references to tasks")
    assert len(report.by_code("bad_reference")) == ISSUES_PER_TASK + 1
    tree = good_tree()
    tree[1]["schemas"] = {"method": "http_get_executor"}
    tree[1]["inputs"] = {"url": "u", **{f"x{i}": 1 for i in range(40)}}
    invalid = validate_tree(tree, registry).by_code("invalid_inputs")
    assert len(invalid) == ISSUES_PER_TASK + 1 and "more problems" in invalid[-1].message


def test_a_task_name_used_as_a_dependency_still_gets_its_id_suggested():
    tree = good_tree()
    tree[1]["name"] = "Download page"
    tree += [task(f"t{i}", parent_id="root", dependencies=[f"gone{i}"]) for i in range(30)]
    tree[0]["dependencies"] += [f"t{i}" for i in range(30)]
    tree[2]["dependencies"] = ["Download page"]  # checked after the 30 others
    tree.append(tree.pop(2))
    hints = [i.hint for i in validate_tree(tree, REGISTRY).by_code("missing_dependency")]
    assert "did you mean" not in hints[-2]  # the difflib budget is spent
    assert '(did you mean "fetch"?)' in hints[-1]


# -- 2. limits that bound something ------------------------------------------------------------


def test_the_document_size_is_checked_before_parsing():
    text = json.dumps(good_tree() + [task("big", parent_id="root", name="x" * 200)])
    issue = refused(text, "document_too_large", limits=Limits(max_document_bytes=len(text) - 1))
    assert str(len(text) - 1) in issue.message
    obj = [task("a", inputs={"blob": "x" * 2000})]
    refused(obj, "document_too_large", limits=Limits(max_document_bytes=1000))
    assert validate_tree("[" * 2_000_000, REGISTRY).codes() == ["document_too_large"]
    with pytest.raises(ValidationFailed) as info:
        repair_tree(b"[" * 2_000_000)
    assert info.value.report.codes() == ["document_too_large"]


def test_dependency_lists_are_bounded():
    tree = good_tree()
    tree[2]["dependencies"] = ["fetch"] + [f"d{i}" for i in range(300)]
    issue = refused(tree, "too_many_dependencies")
    assert issue.task_id == "process" and "300" not in issue.hint and "301" in issue.message


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("schemas", {"method": "m" * 256}, "tasks[1].schemas.method"),
        ("schemas", "m" * 101, "tasks[1].schemas"),
        ("name", "n" * 256, "tasks[1].name"),
        ("parent_id", "p" * 101, "tasks[1].parent_id"),
        ("dependencies", ["d" * 101], "tasks[1].dependencies[0]"),
        ("dependencies", [{"id": "d" * 101}], "tasks[1].dependencies[0].id"),
    ],
)
def test_long_ids_names_and_executors_are_refused_without_echoing_them(field, value, path):
    tree = good_tree()
    tree[1][field] = value
    issue = refused(tree, "value_too_long")
    assert issue.path == path and issue.task_id == "fetch"
    assert "mmmm" not in issue.message + issue.hint and "nnnn" not in issue.message


def test_a_ten_megabyte_executor_id_is_one_issue():
    tree = [task("a", "m" * 10_000_000)]
    assert validate_tree(json.dumps(tree), REGISTRY).codes() == ["document_too_large"]
    issue = refused(tree, "value_too_long", limits=Limits(max_document_bytes=1 << 30))
    assert len(issue.message) < 100


@pytest.mark.parametrize("field", ["params", "schemas", "inputs", "dependencies", "priority"])
def test_depth_is_limited_for_every_field(field):
    tree = good_tree()
    value = deep(900)
    if field == "schemas":
        value = {"method": "fetch_executor", "x": value}
    elif field == "params":
        value = {"x": value}
    elif field == "inputs":
        value = {"url": value}
    tree[1][field] = value
    code = "input_too_large" if field == "inputs" else "too_deep"
    issue = refused(tree, code)
    assert issue.path == f"tasks[1].{field}" and "32 levels" in issue.message
    text = json.dumps(tree)
    assert code in validate_tree(text, REGISTRY).codes()


def test_depth_limit_holds_for_a_parsed_tree_too():
    spec = TaskTreeSpec.model_validate({"tasks": good_tree()})
    spec.tasks[1].params = type(spec.tasks[1].params)(x=deep(900))
    assert validate_tree(spec, REGISTRY).codes() == ["too_deep"]
    with pytest.raises(ValidationFailed):
        repair_tree(spec, registry=REGISTRY)


def test_json_text_too_deep_for_python_is_invalid_json():
    assert validate_tree("[" * 100_000 + "]" * 100_000, REGISTRY).codes() == ["invalid_json"]


# -- 3. crashes become issues ------------------------------------------------------------------


def test_integers_longer_than_python_prints_are_issues():
    report = validate_tree("[" + "9" * 5000 + "]", REGISTRY)
    assert report.codes() == ["invalid_json"] and "4300" in report.issues[0].message
    with pytest.raises(ValidationFailed):
        repair_tree("[" + "9" * 5000 + "]", registry=REGISTRY)
    tree = good_tree()
    tree[1]["inputs"]["n"] = 10**5000
    issue = refused(tree, "not_json")
    assert issue.path == "tasks[1].inputs.n" and str(MAX_NUMBER_DIGITS) in issue.message
    tree[1]["inputs"]["n"] = 10 ** (MAX_NUMBER_DIGITS - 1)  # long but within the limit
    assert "not_json" not in validate_tree(tree, REGISTRY).codes()


def test_repair_of_a_256_character_executor_raises_only_validation_failed():
    tree = [{"id": "a", "schemas": {"method": "m" * 256}}]
    with pytest.raises(ValidationFailed) as info:
        repair_tree(tree)
    assert info.value.report.codes() == ["value_too_long"]


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ({1: "x"}, "tasks[1].inputs", "not a string"),
        ({"a": {("t",): 1}}, "tasks[1].inputs.a", "not a string"),
        ({"a": [1, {2, 3}]}, "tasks[1].inputs.a[1]", "set"),
        ({"a": b"raw"}, "tasks[1].inputs.a", "bytes"),
        ({"a": object()}, "tasks[1].inputs.a", "object"),
        ({"a": math.nan}, "tasks[1].inputs.a", "nan"),
        ({"a": -math.inf}, "tasks[1].inputs.a", "-inf"),
        ({"a": "ok \ud800"}, "tasks[1].inputs.a", "surrogate"),
        ({"\udfff": 1}, "tasks[1].inputs", "surrogate"),
    ],
)
def test_values_that_are_not_json_are_issues(value, path, words):
    tree = good_tree()
    tree[1]["inputs"] = value
    issue = refused(tree, "not_json")
    assert issue.path == path and words in issue.message


def test_non_string_task_keys_and_surrogate_ids_are_issues():
    tree = good_tree()
    tree[1][1] = "x"
    refused(tree, "not_json")
    tree = good_tree()
    tree[1]["id"] = "\ud800"
    issue = refused(tree, "not_json")
    assert issue.task_id is None and issue.path == "tasks[1].id"
    text = '[{"id": "\\ud800", "schemas": {"method": "fetch_executor"}}]'
    printable(validate_tree(text, REGISTRY))


def test_a_nul_in_a_name_is_refused_by_validate_not_first_by_the_database():
    tree = good_tree()
    tree[1]["name"] = "a\x00b"
    issue = refused(tree, "not_json")
    assert issue.path == "tasks[1].name" and "NUL" in issue.message
    tree[1]["inputs"]["note"] = "a\x00b"  # inside JSON values NUL is escaped and stored
    tree[1]["name"] = "ab"
    assert validate_tree(tree, REGISTRY).valid


def test_priority_messages_are_bounded():
    tree = good_tree()
    tree[1]["priority"] = "9" * 5000
    report = validate_tree(tree, REGISTRY)
    assert report.codes() == ["invalid_priority"]
    printable(report)


# -- 4. validate and run agree -----------------------------------------------------------------


async def _store_and_run(db_url: str, tree: Any) -> str:
    session = create_session(db_url)
    try:
        node = await create_tree(session, tree)
        await TaskManager(session, registry=REGISTRY).distribute_task_tree(node)
        root = await TaskManager(session, registry=REGISTRY).task_repository.get_task_by_id(
            node.task.id
        )
        return root.status
    finally:
        await session.close()


def test_trees_at_every_limit_validate_store_and_run(db_url):
    """Both files of issue 15 (900-deep params, and a lone surrogate in inputs) are refused by
    validate now; the same trees at the limits are accepted, stored and run."""
    tree = good_tree()
    tree[1]["params"] = {"x": deep(30), "timeout": 30}  # 32 levels, the limit
    tree[1]["schemas"] = {"method": "fetch_executor", "x": deep(30)}
    tree[1]["name"] = "é" * 255
    tree[1]["inputs"] = {
        "url": "https://example.com",
        "n": 10 ** (MAX_NUMBER_DIGITS - 1),
        "nul": "a\x00b",
    }
    tree[2]["inputs"]["prompt"] = "ünïcödé ${fetch.result.body} " + "x" * 60_000
    assert validate_tree(tree, REGISTRY).valid
    assert asyncio.run(_store_and_run(db_url, tree)) == "completed"
    asyncio.run(dispose_engines())


# -- 5. repair is one pass ---------------------------------------------------------------------


def test_a_dangling_reference_is_never_bound_to_a_root_repair_adds():
    tree = [
        task("root", "llm_executor", inputs={"prompt": "hi"}),
        task("b", "llm_executor", inputs={"prompt": "${root_1.result.x}"}),
    ]
    report = validate_tree(tree, REGISTRY)
    assert "root_1" not in report.by_code("multiple_roots")[0].hint
    spec, fixes = repair_tree(tree, registry=REGISTRY)
    assert "root_1" not in spec.ids() and spec.roots()[0].id == "root_2"
    after = validate_tree(spec, REGISTRY)
    (left,) = after.by_code("undeclared_reference")
    assert "not a task in this tree" in left.message and not after.fixable


def test_a_duplicate_is_never_renamed_to_a_referenced_id():
    tree = good_tree() + [task("x", parent_id="root"), task("x", parent_id="root")]
    tree[0]["dependencies"] += ["x", "x_2"]  # x_2 dangles: the rename must not adopt it
    tree[0]["dependencies"].remove("x")
    spec, _fixes = repair_tree(tree, registry=REGISTRY)
    assert "x_2" not in spec.ids() and "x_3" in spec.ids()


def test_fixes_that_enable_other_fixes_happen_in_the_same_repair():
    """An unknown field hid the other issues; a parent loop blocked a rename."""
    tree = [
        task("root", AGG, dependencies=[{"id": "t", "required": False}], description="x"),
        task("t", parent_id="t0"),
        task("t0", parent_id="t"),
        task("t0", parent_id="t"),
    ]
    report = validate_tree(tree, REGISTRY)
    assert {"invalid_shape", "duplicate_id", "parent_cycle"} <= set(report.codes())
    spec, _fixes = repair_tree(tree, registry=REGISTRY)
    after = validate_tree(spec, REGISTRY)
    assert after.valid, after.to_text()
    assert repair_tree(spec, registry=REGISTRY)[1] == []


# -- properties --------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**1200, -(10**400), 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
    | st.sampled_from(["\ud800", "x" * 300, "${root_1.result.x}", "${a.result}", "${"])
    | st.sampled_from([b"raw", frozenset({1}), (1, 2), object()])
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=3) | st.integers() | st.just("\udfff"), inner, max_size=3
        )
    ),
    max_leaves=10,
) | st.integers(25, 400).map(deep)
IDS = st.sampled_from(["a", "b", "root", "root_1", "root_2", "a_2", "x" * 101, "zz", ""])


@st.composite
def hostile_trees(draw):
    """A valid tree with a few hostile edits: dangling ids, duplicates, junk in any field."""
    tree = [dict(t) for t in good_tree()]
    for _ in range(draw(st.integers(1, 4))):
        victim = draw(st.sampled_from(tree))
        kind = draw(st.integers(0, 7))
        if kind == 0:
            victim[draw(st.sampled_from(["inputs", "params", "schemas", "name", "priority"]))] = (
                draw(JUNK)
            )
        elif kind == 1:
            victim["dependencies"] = [*victim.get("dependencies", []), draw(IDS)]
        elif kind == 2:
            tree.append(dict(victim))
        elif kind == 3:
            victim["parent_id"] = draw(IDS | st.none())
        elif kind == 4:
            victim["inputs"] = {"prompt": "${" + draw(IDS) + ".result.x}"}
        elif kind == 5:
            victim["id"] = draw(IDS)
        elif kind == 6:
            victim[draw(st.sampled_from(["note", 1]))] = "extra"
        else:
            victim["schemas"] = {"method": draw(st.sampled_from([AGG, "Fetch-Executor", "x"]))}
    return tree


@FAST
@given(hostile_trees() | JUNK | hostile_trees().map(lambda t: json.dumps(t, default=repr)))
def test_validate_never_raises_and_one_repair_leaves_nothing_fixable(tree):
    report = validate_tree(tree, REGISTRY)
    printable(report)
    try:
        spec, _fixes = repair_tree(tree, registry=REGISTRY)
    except ValidationFailed as exc:
        assert exc.report.issues
        return
    after = validate_tree(spec, REGISTRY)
    assert not after.fixable, after.to_text()
    if report.valid:
        assert after.valid
    again, more = repair_tree(spec, registry=REGISTRY)
    assert more == [] and again.to_list() == spec.to_list()


@FAST
@given(hostile_trees())
def test_what_validate_accepts_create_tree_stores_and_the_engine_runs(tree):
    if not validate_tree(tree, REGISTRY).valid:
        return
    status = asyncio.run(_store_and_run("sqlite+aiosqlite:///:memory:", tree))
    assert status in TERMINAL_STATES  # stored and run to the end (a task may fail: no refusal)
    asyncio.run(dispose_engines())


def test_docs_limits_page_lists_every_limit_and_its_example_runs(monkeypatch, tmp_path):
    import dataclasses

    from tests.docs_blocks import DOCS, blocks, run_blocks

    page = DOCS / "limits.md"
    text = page.read_text()
    for field in dataclasses.fields(Limits):
        assert f"`{field.name}`" in text, field.name
        assert f"{field.default:,}" in text or str(field.default) in text, field.name
    for code in ("document_too_large", "too_many_dependencies", "value_too_long", "not_json"):
        assert f"`{code}`" in text
    (code,) = [block.code for block in blocks(page) if block.kind == "python"]
    monkeypatch.chdir(tmp_path)
    run = run_blocks(page)
    (shown,) = [block.code for block in blocks(page) if block.kind == "text"]
    assert run.output.strip() == shown.strip()


def _issue_keys(report: Any) -> list[tuple]:
    return [(i.code, i.path, i.message) for i in report.issues]


@FAST
@given((hostile_trees() | JUNK).map(lambda t: json.dumps(t, default=repr)))
def test_the_fast_paths_report_exactly_what_the_full_walks_report(text):
    """JSON text takes shortcuts (regex scans instead of the value walk, no reference walk
    without "${", jsonschema-rs before jsonschema); the same tree parsed first takes the
    full walks, and the Python validator alone is the reference for inputs."""
    from apflow.spec.content import ContentChecker

    ok, parsed = value_of_text(text)
    if not ok:
        return
    fast = validate_tree(text, REGISTRY)
    assert _issue_keys(fast) == _issue_keys(validate_tree(parsed, REGISTRY))
    original = ContentChecker._valid_fast
    ContentChecker._valid_fast = lambda self, task, ref_paths: False
    try:
        assert _issue_keys(fast) == _issue_keys(validate_tree(text, REGISTRY))
    finally:
        ContentChecker._valid_fast = original


def test_shortcuts_still_see_escaped_references_surrogates_and_depth():
    ref = [
        {"id": "r", "schemas": {"method": AGG}, "dependencies": ["a"]},
        {
            "id": "a",
            "parent_id": "r",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": "${ghost.result}"},
        },
    ]
    hidden = json.dumps(ref).replace("$", "\\u0024")  # "${" never appears in the text
    assert "undeclared_reference" in validate_tree(hidden).codes()
    lone = json.dumps(ref).replace("ghost", "gh\\ud800ost")
    assert validate_tree(lone).codes() == ["not_json"]
    paired = json.dumps(ref[:1] + [dict(ref[1], inputs={"data": "\U0001f600"})])
    assert "\\ud83d\\ude00" in paired and validate_tree(paired).valid
    for depth, codes in ((31, []), (32, ["input_too_large"])):
        deep_inputs = dict(ref[1], inputs={"data": deep(depth - 1)})
        text = json.dumps([ref[0], deep_inputs])
        assert validate_tree(text).codes() == codes
