"""transform_executor: declarative data shaping, alone and inside the engine."""

from __future__ import annotations

import pytest

from apflow import TaskManager, TaskTreeNode, create_session
from apflow.executors.transform import TransformExecutor, parse_path

DATA = {
    "user": {"name": "Ada", "langs": ["en", "fr"]},
    "items": [
        {"id": 1, "kind": "book", "price": 10, "meta": {"tag": "a"}},
        {"id": 2, "kind": "pen", "price": 2, "meta": {"tag": "b"}},
        {"id": 3, "kind": "book", "price": 7, "meta": {"tag": "a"}},
    ],
}


async def run(**inputs):
    return await TransformExecutor().execute(inputs)


async def ok(**inputs):
    out = await run(**inputs)
    assert out["status"] == "completed", out
    return out["result"]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("user.name", "Ada"),
        ("user.langs.1", "fr"),
        ("items.0.meta.tag", "a"),
        ("$.items[2].id", 3),
        ("$['user'].langs[0]", "en"),
        ("$.items[*].kind", ["book", "pen", "book"]),
        ("items.-1.id", 3),
        ("$", DATA),
    ],
)
async def test_pick_by_dotted_path_and_jsonpath(path, expected):
    assert await ok(data=DATA, operations=[{"op": "pick", "path": path}]) == expected


async def test_pick_fields_builds_an_object_with_defaults():
    out = await ok(
        data=DATA,
        operations=[
            {"op": "pick", "fields": {"who": "user.name", "x": "user.age"}, "default": None}
        ],
    )
    assert out == {"who": "Ada", "x": None}


async def test_missing_path_fails_with_its_name():
    out = await run(data=DATA, operations=[{"op": "pick", "path": "user.email"}])
    assert out["status"] == "failed" and out["error_type"] == "path_not_found"
    assert "operations/0 (pick)" in out["error"] and "user.email" in out["error"]


async def test_filter_then_pluck_then_count():
    ops = [
        {"op": "pick", "path": "items"},
        {"op": "filter", "where": {"kind": "book", "meta.tag": "a"}},
    ]
    books = await ok(data=DATA, operations=ops)
    assert [b["id"] for b in books] == [1, 3]
    assert await ok(data=DATA, operations=[*ops, {"op": "pluck", "path": "price"}]) == [10, 7]
    assert await ok(data=DATA, operations=[*ops, {"op": "count"}]) == 2
    assert await ok(data="abc", operations=[{"op": "length"}]) == 3


async def test_filter_skips_items_without_the_field():
    data = [{"kind": "a"}, {"other": 1}, "text", {"kind": "a", "x": 2}]
    out = await ok(data=data, operations=[{"op": "filter", "where": {"kind": "a"}}])
    assert out == [{"kind": "a"}, {"kind": "a", "x": 2}]


async def test_merge_dicts_deep_and_shallow_and_lists_concatenate():
    a = {"x": {"p": 1, "q": 1}, "k": 1}
    b = {"x": {"q": 2}, "m": 2}
    assert await ok(data=a, operations=[{"op": "merge", "with": b}]) == {
        "x": {"p": 1, "q": 2},
        "k": 1,
        "m": 2,
    }
    shallow = await ok(data=a, operations=[{"op": "merge", "with": b, "deep": False}])
    assert shallow["x"] == {"q": 2}
    assert await ok(data=[[1], [2, 3]], operations=[{"op": "merge"}]) == [1, 2, 3]
    assert await ok(data=[1], operations=[{"op": "merge", "with": [2]}]) == [1, 2]
    out = await run(data={"a": 1}, operations=[{"op": "merge", "with": 5}])
    assert out["error_type"] == "type_error"


async def test_template_fills_placeholders_from_data():
    out = await ok(
        data=DATA,
        operations=[
            {
                "op": "template",
                "template": "{user.name} speaks {user.langs} {{literal}} {items.1.price}",
            }
        ],
    )
    assert out == 'Ada speaks ["en", "fr"] {literal} 2'
    bad = await run(data=DATA, operations=[{"op": "template", "template": "{nope}"}])
    assert bad["error_type"] == "path_not_found"


async def test_sources_merge_injected_dependency_results():
    out = await ok(sources=["a", "b"], a={"x": 1}, b={"y": 2}, operations=[])
    assert out == {"x": 1, "y": 2}
    missing = await run(sources=["a", "zzz"], a={"x": 1})
    assert missing["error_type"] == "missing_source" and "zzz" in missing["error"]


async def test_without_data_all_injected_results_are_the_data():
    assert await ok(fetch={"n": 1}, other=[1]) == {"fetch": {"n": 1}, "other": [1]}


async def test_type_errors_are_failed_results_not_exceptions():
    out = await run(data={"a": 1}, operations=[{"op": "filter", "where": {"a": 1}}])
    assert out["error_type"] == "type_error" and "expects a list" in out["error"]
    out = await run(data=5, operations=[{"op": "count"}])
    assert out["error_type"] == "type_error"


@pytest.mark.parametrize(
    "inputs, where",
    [
        ({"operations": [{"op": "explode"}]}, "operations/0/op"),
        ({"operations": [{"path": "a"}]}, "operations/0"),
        ({"operations": [{"op": "pluck"}]}, "operations/0"),
        ({"operations": [{"op": "filter"}]}, "operations/0"),
        ({"operations": [{"op": "template", "template": 3}]}, "operations/0/template"),
        ({"sources": "a"}, "sources"),
        ({"operations": {"op": "count"}}, "operations"),
    ],
)
async def test_invalid_inputs(inputs, where):
    out = await run(**inputs)
    assert out["error_type"] == "validation_error" and where in out["error"], out


async def test_pick_without_path_or_fields_and_bad_jsonpath():
    out = await run(data={}, operations=[{"op": "pick"}])
    assert out["error_type"] == "validation_error"
    out = await run(data={}, operations=[{"op": "pick", "path": "$..deep"}])
    assert out["error_type"] == "validation_error" and "JSONPath" in out["error"]


def test_parse_path_forms():
    assert parse_path("a.b.0") == ["a", "b", 0]
    assert parse_path("$.a['b c'][0][*]") == ["a", "b c", 0, "*"]


async def test_merges_dependency_results_inside_the_engine():
    session = create_session()
    manager = TaskManager(session)
    repo = manager.task_repository
    root = await repo.create_task(
        name="merge", schemas={"method": "transform_executor"}, params={"spec_id": "merge"}
    )
    children = []
    for key, data in (("left", {"x": 1, "tags": {"a": 1}}), ("right", {"y": 2, "tags": {"b": 2}})):
        children.append(
            await repo.create_task(
                name=key,
                parent_id=root.id,
                schemas={"method": "transform_executor"},
                params={"spec_id": key},
                inputs={"data": data},
            )
        )
    await repo.update_task(
        root.id,
        dependencies=[c.id for c in children],
        inputs={
            "sources": ["left", "right"],
            "operations": [{"op": "template", "template": "{x}+{y} tags={tags}"}],
        },
    )
    node = TaskTreeNode(await repo.get_task_by_id(root.id))
    for child in children:
        node.add_child(TaskTreeNode(child))
    await manager.distribute_task_tree(node)
    stored = await repo.get_task_by_id(root.id)
    assert stored.status == "completed", stored.error
    assert stored.result == '1+2 tags={"a": 1, "b": 2}'
    await session.close()
