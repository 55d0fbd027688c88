"""The validator's bulk helpers give exactly what their one-at-a-time versions gave."""

from __future__ import annotations

import gc
import itertools
import json
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apflow.core.errors import ValidationFailed
from apflow.spec import Limits, TaskTreeSpec, repair_tree, validate_tree
from apflow.spec.limits import bracket_depth, plain_json_text
from apflow.spec.report import ISSUES_PER_TASK, cap_per_code

from .test_hostile import JUNK, hostile_trees, value_of_text
from .test_properties import FAST, REGISTRY

EXAMPLES = settings(max_examples=200, deadline=None)


def capped_one_by_one(problems):
    """The per-issue cap as it was: admit the first ISSUES_PER_TASK of each code."""
    shown: dict[str, int] = {}
    listed, more = [], {}
    for code, about, payload in problems:
        if shown.get(code, 0) >= ISSUES_PER_TASK:
            more.setdefault(code, []).append(about)
            continue
        shown[code] = shown.get(code, 0) + 1
        listed.append((code, payload))
    return listed, more


@EXAMPLES
@given(st.lists(st.tuples(st.sampled_from("abc"), st.text(max_size=2)), max_size=60))
def test_cap_per_code_is_the_one_by_one_cap(items):
    problems = [(code, about, k) for k, (code, about) in enumerate(items)]
    listed, more = cap_per_code(problems)
    expected_listed, expected_more = capped_one_by_one(problems)
    assert listed == expected_listed
    assert list(more.items()) == list(expected_more.items())  # the order of the codes too


SHAPES = st.recursive(
    st.just("()"),
    lambda inner: st.lists(inner, max_size=4).map(lambda parts: "(" + "".join(parts) + ")"),
    max_leaves=60,
)


def depth_by_counting(brackets: bytes) -> int:
    return max(itertools.accumulate(1 if c == ord("(") else -1 for c in brackets), default=0)


@EXAMPLES
@given(st.lists(SHAPES, max_size=4).map("".join))
def test_bracket_depth_is_the_deepest_prefix(shape):
    data = shape.encode()
    assert bracket_depth(data) == depth_by_counting(data)


def test_bracket_depth_of_long_chains_and_combs():
    for k in (1, 2, 33, 34, 200):
        chain = b"(" * k + b")" * k
        assert bracket_depth(chain) == k
        comb = (b"(" * k + b"()" * 3000 + b")" * k) * 2
        assert bracket_depth(comb) == k + 1
        zigzag = b"(" * k + b"()(())" * 500 + b")" * k
        assert bracket_depth(zigzag) == k + 2


def test_plain_json_text_sees_depth_numbers_and_non_finite_values_only_outside_strings():
    assert plain_json_text(json.dumps([[{"a": "[[[[[[[[[[ NaN 1" + "9" * 2000}]]), 3)
    assert not plain_json_text(json.dumps([[[[{"a": 1}]]]]), 3)
    assert plain_json_text(json.dumps([[[{"a": 1}]]]), 3)
    assert not plain_json_text("[" + "9" * 1001 + "]", 3)
    assert plain_json_text("[" + "9" * 308 + ", 1e99]", 3)
    assert not plain_json_text("[NaN]", 3) and not plain_json_text("[-Infinity]", 3)


AGG = {"id": "a", "schemas": {"method": "aggregate_results_executor"}}


def with_input(raw_value: str) -> str:
    """JSON text of a one-task tree whose input ``x`` is written exactly as ``raw_value``."""
    return json.dumps([{**AGG, "inputs": {"x": 0}}]).replace('"x": 0', f'"x": {raw_value}')


def test_text_and_objects_agree_on_numbers_that_overflow_to_infinity():
    # json.loads reads these as inf, which storage refuses: validate must not pass them
    for raw in ("1e400", "-1E999", "9" * 400 + ".0"):
        text = with_input(raw)
        assert validate_tree(text).codes() == ["not_json"], raw
        assert validate_tree(json.loads(text)).codes() == ["not_json"], raw
    assert validate_tree(with_input("1e300")).valid  # large, finite: fine


def test_an_escaped_backslash_does_not_hide_a_lone_surrogate():
    text = with_input(r'"\\ud800\udc00"')  # a backslash, "ud800", then a lone \udc00
    assert json.loads(text)[0]["inputs"]["x"] == "\\ud800\udc00"
    assert validate_tree(text).codes() == ["not_json"]
    assert validate_tree(with_input(r'"C:\\\\ud800"')).valid  # two backslashes, no escape


def test_keys_python_cannot_print_are_reported_not_raised():
    huge = 10**5000  # repr() raises ValueError past 4,300 digits
    assert validate_tree([{**AGG, huge: 1}]).codes() == ["not_json"]
    issue = validate_tree([{**AGG, "inputs": {"k": {huge: 1}}}]).issues[0]
    assert issue.code == "not_json" and "integer of" in issue.message

    class Rude:
        def __repr__(self):
            raise RuntimeError("no")

    assert validate_tree([{**AGG, "inputs": {"k": {Rude(): 1}}}]).codes() == ["not_json"]


def test_the_first_bad_value_is_the_one_reported():
    many = [{1, 2}] + [0] * 300_000  # large enough to pass the old walk's size budget
    assert validate_tree([{**AGG, "inputs": {"x": many}}]).issues[0].path == "tasks[0].inputs.x[0]"
    two = [{1}, float("nan")]
    assert validate_tree([{**AGG, "inputs": {"x": two}}]).issues[0].path == "tasks[0].inputs.x[0]"


def test_a_spec_changed_after_it_was_built_is_checked_again():
    spec = TaskTreeSpec.model_validate({"tasks": [AGG]})
    spec.tasks[0].priority = 99  # pydantic does not check assignments
    assert "invalid_priority" in validate_tree(spec).codes()
    with pytest.raises(ValidationFailed) as refused:  # not pydantic's error from inside
        repair_tree(spec)
    assert refused.value.report.codes() == ["invalid_priority"]


def test_validate_reports_a_long_number_in_inputs():
    tree = [
        {"id": "r", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ["a"]},
        {"id": "a", "parent_id": "r", "schemas": {"method": "transform_executor"}},
    ]
    text = json.dumps(tree)[:-2] + ', "inputs": {"data": ' + "7" * 1001 + "}}]"
    assert validate_tree(text).codes() == ["not_json"]


def repaired(tree):
    try:
        spec, fixes = repair_tree(tree, registry=REGISTRY)
    except ValidationFailed as exc:
        return "refused", [(i.code, i.path, i.message) for i in exc.report.issues]
    return spec.to_list(), fixes


@FAST
@given((hostile_trees() | JUNK).map(lambda t: json.dumps(t, default=repr)))
def test_repair_of_json_text_takes_the_shortcuts_with_the_same_outcome(text):
    """Text is scanned at C speed and not copied; the parsed value takes the full walk."""
    ok, parsed = value_of_text(text)
    if ok:
        assert repaired(text) == repaired(parsed)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _young_cycle() -> weakref.ref:
    gc.collect()
    return weakref.ref(_Cycle())  # unreachable at once, but only a collection frees it


def _big_tree_text() -> str:
    ids = [f"t{i}" for i in range(20)]
    data = [[0]] * 3000  # 60,000 containers once parsed
    tasks = [{"id": "r", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ids}]
    tasks += [
        {
            "id": t,
            "parent_id": "r",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": data},
        }
        for t in ids
    ]
    return json.dumps(tasks)


def test_after_an_ordinary_tree_young_garbage_stays_young():
    ref = _young_cycle()
    assert validate_tree(json.dumps(tree_with(2))).valid
    assert gc.isenabled()
    gc.collect(1)
    assert ref() is None


def test_after_a_large_tree_its_objects_skip_the_young_collections():
    assert gc.isenabled()
    ref = _young_cycle()
    report = validate_tree(_big_tree_text())
    assert report.valid and gc.isenabled()
    gc.collect(1)
    assert ref() is not None  # promoted with the tree: only a full collection frees it
    gc.collect()
    assert ref() is None


def test_objects_the_application_froze_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert validate_tree(_big_tree_text()).valid
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen (that would make it 0)
    finally:
        gc.unfreeze()


def tree_with(n: int) -> list:
    ids = [f"t{i}" for i in range(n)]
    return [
        {"id": "r", "schemas": {"method": "aggregate_results_executor"}, "dependencies": ids}
    ] + [
        {
            "id": t,
            "parent_id": "r",
            "schemas": {"method": "transform_executor"},
            "inputs": {"data": 1},
        }
        for t in ids
    ]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_name_length": 1000}, {"max_id_length": 101}, {"max_tasks": -1}, {"max_tasks": 1.5}],
)
def test_limits_refuse_what_would_not_take_effect(kwargs):
    # ids and names beyond the task model's bounds would be refused anyway, as invalid_shape
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Limits(**kwargs)
    assert Limits(max_name_length=10).max_name_length == 10


def test_overlapping_pauses_in_threads_restore_the_collector_once_all_are_done():
    import threading

    from apflow.spec.limits import paused_gc

    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused_gc():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with paused_gc():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.isenabled()
        seen["after both"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first left": False, "after both": True}
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a collector the application turned off stays off
    finally:
        gc.enable()
