"""parallel_write_read: a warning when a read may run beside a write to the same resource."""

from __future__ import annotations

from apflow.core.registry import default_registry
from apflow.spec import validate_tree


def rest(tid: str, url: str, method: str = "GET", deps: tuple = ()) -> dict:
    return {
        "id": tid,
        "parent_id": "root",
        "schemas": {"method": "rest_executor"},
        "inputs": {"url": url, "method": method},
        "dependencies": list(deps),
    }


def tree(*tasks: dict) -> list[dict]:
    root = {
        "id": "root",
        "schemas": {"method": "aggregate_results_executor"},
        "dependencies": [t["id"] for t in tasks],
    }
    return [root, *tasks]


def test_a_check_beside_the_create_it_checks_is_a_warning_not_an_error():
    report = validate_tree(
        tree(
            rest("create", "https://api.example.com/users", "POST"),
            rest("check", "https://api.example.com/users/ada"),
        ),
        default_registry,
    )
    assert report.valid
    (warning,) = report.warnings
    assert (warning.code, warning.task_id) == ("parallel_write_read", "check")
    assert '{"id": "create"}' in warning.hint
    assert report.to_dict()["warnings"][0]["code"] == "parallel_write_read"


def test_no_warning_when_ordered_or_unrelated():
    ordered = tree(
        rest("create", "https://api.example.com/users", "POST"),
        rest("check", "https://api.example.com/users/ada", deps=("create",)),
    )
    assert validate_tree(ordered, default_registry).warnings == []
    other_host = tree(
        rest("create", "https://api.example.com/users", "POST"),
        rest("check", "https://other.example.com/users/ada"),
    )
    assert validate_tree(other_host, default_registry).warnings == []
    sibling_path = tree(
        rest("create", "https://api.example.com/users", "POST"),
        rest("orders", "https://api.example.com/orders"),
    )
    assert validate_tree(sibling_path, default_registry).warnings == []
    two_reads = tree(
        rest("a", "https://api.example.com/users"), rest("b", "https://api.example.com/users")
    )
    assert validate_tree(two_reads, default_registry).warnings == []


def test_warnings_are_bounded_on_a_tree_of_many_racing_pairs():
    tasks = [rest(f"w{i}", "https://api.example.com/x", "PUT") for i in range(90)]
    tasks += [rest(f"r{i}", "https://api.example.com/x") for i in range(90)]
    report = validate_tree(tree(*tasks), default_registry)
    assert report.valid and len(report.warnings) == 20
