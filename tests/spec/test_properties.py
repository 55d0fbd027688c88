"""Property tests: random valid DAG trees pass; single mutations are caught; repair is safe."""

from __future__ import annotations

import copy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apflow.core.errors import ValidationFailed
from apflow.core.registry import ExecutorRegistry
from apflow.executors.aggregate import AggregateResultsExecutor
from apflow.spec import repair_tree, validate_tree

from .conftest import FetchExecutor, LlmExecutor

REGISTRY = ExecutorRegistry()
for _cls in (AggregateResultsExecutor, FetchExecutor, LlmExecutor):
    REGISTRY.register(_cls)
EXECUTORS = ["fetch_executor", "llm_executor"]
#: APFLOW_SPEC_EXAMPLES=1000 for a deeper run; the default keeps the suite fast.
EXAMPLES = int(os.environ.get("APFLOW_SPEC_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_trees(draw, min_tasks: int = 1, max_tasks: int = 12):
    """A root aggregator over a random DAG: dependencies and parents point to earlier tasks."""
    n = draw(st.integers(min_tasks, max_tasks))
    ids = draw(
        st.lists(
            st.text("abcdefg_-0123", max_size=5).map(lambda s: "t" + s),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    tasks = []
    for i, tid in enumerate(ids):
        earlier = ids[:i]
        deps = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        parent = draw(st.sampled_from(["root", *earlier]))
        entry = {
            "id": tid,
            "parent_id": parent,
            "schemas": {"method": draw(st.sampled_from(EXECUTORS))},
            "dependencies": [{"id": d, "required": draw(st.booleans())} for d in deps],
            "priority": draw(st.integers(0, 3)),
        }
        if deps and draw(st.booleans()):
            entry["inputs"] = {"prompt": f"use ${{{deps[0]}.result.text}}"}
        tasks.append(entry)
    top = [t["id"] for t in tasks if t["parent_id"] == "root"]
    root = {
        "id": "root",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": [{"id": t, "required": draw(st.booleans())} for t in top],
    }
    return [root, *tasks]


@FAST
@given(valid_trees())
def test_random_valid_trees_always_pass(tree):
    report = validate_tree(tree, REGISTRY)
    assert report.valid, report.to_text()


@FAST
@given(valid_trees(min_tasks=1), st.data())
def test_dropping_a_dependency_target_is_missing_dependency(tree, data):
    with_deps = [t for t in tree if t.get("dependencies")]
    dependent = data.draw(st.sampled_from(with_deps))
    target = data.draw(st.sampled_from([d["id"] for d in dependent["dependencies"]]))
    mutated = [t for t in tree if t["id"] != target]
    report = validate_tree(mutated, REGISTRY)
    missing = report.by_code("missing_dependency")
    assert dependent["id"] in {i.task_id for i in missing}, report.to_text()


@FAST
@given(valid_trees(min_tasks=1), st.data())
def test_a_back_edge_is_a_dependency_cycle_naming_both_ends(tree, data):
    edges = [(t["id"], d["id"]) for t in tree for d in t.get("dependencies", [])]
    source, target = data.draw(st.sampled_from(edges))
    mutated = copy.deepcopy(tree)
    back = next(t for t in mutated if t["id"] == target)
    back.setdefault("dependencies", []).append({"id": source})
    report = validate_tree(mutated, REGISTRY)
    cycles = report.by_code("dependency_cycle")
    assert len(cycles) == 1, report.to_text()
    assert f'"{source}"' in cycles[0].message and f'"{target}"' in cycles[0].message


@FAST
@given(valid_trees(min_tasks=2), st.data())
def test_a_duplicated_id_is_caught(tree, data):
    victim, other = data.draw(st.permutations(tree[1:]))[:2]
    mutated = copy.deepcopy(tree)
    clone = next(t for t in mutated if t["id"] == other["id"])
    old = clone["id"]
    clone["id"] = victim["id"]
    report = validate_tree(mutated, REGISTRY)
    assert "duplicate_id" in report.codes(), (old, report.to_text())


@FAST
@given(valid_trees())
def test_repair_leaves_a_valid_tree_valid_and_unchanged(tree):
    spec, fixes = repair_tree(tree, registry=REGISTRY)
    assert fixes == []
    assert validate_tree(spec, REGISTRY).valid
    assert spec == validate_tree(tree, REGISTRY).spec


@FAST
@given(valid_trees(min_tasks=2), st.data())
def test_repair_fixes_a_forest_and_orphans(tree, data):
    mutated = copy.deepcopy(tree[1:])  # drop the root: a forest with missing parents
    victim = data.draw(st.sampled_from(mutated))
    victim["parent_id"] = "ghost"
    report = validate_tree(mutated, REGISTRY)
    assert not report.valid and all(i.fixable for i in report.issues), report.to_text()
    spec, _fixes = repair_tree(mutated, registry=REGISTRY)
    after = validate_tree(spec, REGISTRY)
    assert after.valid, after.to_text()


MUTATIONS = [
    "drop_root",
    "orphan",
    "self_dep",
    "dup_dep",
    "extra_field",
    "snap",
    "undeclared",
    "dup_id",
    "parent_loop",
    "non_agg_root",
]


def mutate(tree, kind, data):
    """Apply one mutation that repair_tree is meant to fix; return False if it does not apply."""
    tasks = [t for t in tree if t["id"] != "root"]
    if kind in ("drop_root", "non_agg_root") and tree[0]["id"] != "root":
        return False
    if kind == "drop_root":
        tree.pop(0)
    elif kind == "orphan":
        data.draw(st.sampled_from(tasks))["parent_id"] = "ghost"
    elif kind == "self_dep":
        victim = data.draw(st.sampled_from(tasks))
        victim.setdefault("dependencies", []).append({"id": victim["id"]})
    elif kind == "dup_dep":
        with_deps = [t for t in tree if t.get("dependencies")]
        if not with_deps:
            return False
        victim = data.draw(st.sampled_from(with_deps))
        victim["dependencies"].append(dict(victim["dependencies"][0]))
    elif kind == "extra_field":
        data.draw(st.sampled_from(tree))["description"] = "explains the step"
    elif kind == "snap":
        victim = data.draw(st.sampled_from(tasks))
        victim["schemas"] = {"method": victim["schemas"]["method"].upper().replace("_", "-")}
    elif kind == "undeclared":
        refs = [t for t in tasks if t.get("inputs")]
        if not refs:
            return False
        victim = data.draw(st.sampled_from(refs))
        victim["dependencies"] = victim["dependencies"][1:]  # inputs use the first one
    elif kind == "dup_id":
        named = {d["id"] for t in tree for d in t.get("dependencies", [])}
        named |= {t.get("parent_id") for t in tree}
        free = [t for t in tasks if t["id"] not in named]
        if not free:
            return False
        clone = dict(data.draw(st.sampled_from(free)), dependencies=[], inputs={})
        tree.append(clone)
    elif kind == "parent_loop":
        if len(tasks) < 2:
            return False
        a, b = data.draw(st.permutations(tasks))[:2]
        a["parent_id"], b["parent_id"] = b["id"], a["id"]
    elif kind == "non_agg_root":
        tree[0]["schemas"] = {"method": "llm_executor"}
    return True


@FAST
@given(
    valid_trees(min_tasks=2),
    st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3, unique=True),
    st.data(),
)
def test_issues_marked_fixable_are_fixed_by_repair(tree, kinds, data):
    mutated = copy.deepcopy(tree)
    applied = [k for k in kinds if mutate(mutated, k, data)]
    report = validate_tree(mutated, REGISTRY)
    spec, fixes = repair_tree(mutated, registry=REGISTRY)
    after = validate_tree(spec, REGISTRY)
    if all(i.fixable for i in report.issues):
        assert after.valid, (applied, report.to_text(), fixes, after.to_text())


AGGREGATOR_ID = "aggregate_results_executor"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text("ab${}.r_", max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("ab", max_size=2), inner),
    max_leaves=8,
)
FIELD_VALUES = {
    "id": st.sampled_from(["a", "b", "root", "", "a b"]) | JSON,
    "parent_id": st.sampled_from([None, "a", "b", "root", "zz"]) | JSON,
    "dependencies": st.lists(st.sampled_from(["a", "b", "root"]) | JSON, max_size=3) | JSON,
    "schemas": st.sampled_from(
        [{"method": m} for m in ["llm_executor", "LLM", "aggregate_results_executor", "x"]]
    )
    | JSON,
    "inputs": st.dictionaries(st.sampled_from(["prompt", "url"]), JSON) | JSON,
    "priority": st.integers(-2, 5) | JSON,
    "params": st.fixed_dictionaries({}, optional={"timeout": JSON, "retries": JSON}) | JSON,
}
PLAUSIBLE = {
    "id": st.sampled_from(["a", "b", "c", "root"]),
    "parent_id": st.sampled_from([None, "a", "b", "root", "zz"]),
    "dependencies": st.lists(
        st.sampled_from(["a", "b", "c", "root", "zz"]) | st.builds(dict, id=st.just("a")),
        max_size=3,
    ),
    "schemas": st.sampled_from(
        [{"method": m} for m in ["llm_executor", "fetch-executor", AGGREGATOR_ID, "x"]]
    ),
    "inputs": st.dictionaries(
        st.sampled_from(["prompt", "url"]),
        st.sampled_from(["hi", "${a.result}", "${b.result.x}", "${bad}", 3]),
        max_size=2,
    ),
    "priority": st.integers(0, 4),
}
TASKISH = st.fixed_dictionaries(
    {"id": PLAUSIBLE["id"], "schemas": PLAUSIBLE["schemas"]},
    optional={k: v for k, v in PLAUSIBLE.items() if k not in ("id", "schemas")},
) | st.fixed_dictionaries({}, optional=FIELD_VALUES)


@FAST
@given(st.lists(TASKISH, max_size=5) | JSON)
def test_validation_never_raises_and_repair_only_raises_validation_failed(tree):
    """Arbitrary JSON and near-miss trees: no crash, and a second repair changes nothing."""
    report = validate_tree(tree, REGISTRY)
    assert report.valid == (report.issues == [])
    for issue in report.issues:
        assert issue.message and (issue.hint or issue.code == "invalid_json")
    try:
        spec, _fixes = repair_tree(tree, registry=REGISTRY)
    except ValidationFailed as exc:
        assert exc.report.issues
    else:
        after = validate_tree(spec, REGISTRY)
        if report.valid:
            assert after.valid
        assert repair_tree(spec, registry=REGISTRY)[1] == []  # repair is idempotent


@FAST
@given(st.lists(TASKISH, min_size=1, max_size=6))
def test_each_issue_marked_fixable_is_gone_after_repair(tree):
    report = validate_tree(tree, REGISTRY)
    if report.spec is None or "duplicate_id" in report.codes():
        return  # with shared ids, messages of different tasks coincide
    spec, fixes = repair_tree(tree, registry=REGISTRY)
    after = validate_tree(spec, REGISTRY)
    fixable = {(i.code, i.task_id, i.message) for i in report.issues if i.fixable}
    remaining = {(i.code, i.task_id, i.message) for i in after.issues}
    assert not fixable & remaining, (report.to_text(), fixes, after.to_text())
