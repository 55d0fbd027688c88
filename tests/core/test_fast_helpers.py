"""The validator's speed-ups give exactly the answers of the plain versions they replace.

Each helper is checked against its reference (difflib, the old one-string-at-a-time
reference walk) on generated inputs, so a faster path can never change a report.
"""

from __future__ import annotations

import copy
import difflib
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apflow.core import references
from apflow.core.utils.similar import close_matches

EXAMPLES = settings(max_examples=200, deadline=None)
WORDS = st.text(alphabet="abc_01", max_size=8)


@EXAMPLES
@given(
    WORDS,
    st.lists(WORDS, max_size=30),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.4, 0.5, 0.6, 0.8, 1.0]),
)
def test_close_matches_is_difflib(word, pool, n, cutoff):
    assert close_matches(word, pool, n, cutoff) == difflib.get_close_matches(word, pool, n, cutoff)


def test_close_matches_on_look_alike_ids_and_bad_arguments():
    ids = [f"{i:08d}" for i in range(199)]
    for word in ("00000001", "00010005", "01980099", "x"):
        assert close_matches(word, ids, 3, 0.5) == difflib.get_close_matches(word, ids, 3, 0.5)
    with pytest.raises(ValueError):
        close_matches("a", ["a"], 0)
    with pytest.raises(ValueError):
        close_matches("a", ["a"], 1, 1.5)


def reference_walk(value: Any) -> list[tuple[tuple, str, Any]]:
    """The walk before the speed-ups: every string, every ``${...}`` parsed on its own."""
    found = []
    for path, text in references.iter_strings(value):
        for match in references.CANDIDATE.finditer(text):
            body = match.group(1).strip()
            well = references.WELL_FORMED.match(body)
            if well:
                found.append((path, match.group(0), ("ref", body, well.group("task"))))
            else:
                found.append((path, match.group(0), ("bad",)))
    return found


def plain(found: list[tuple[tuple, str, Any]]) -> list[tuple[tuple, str, Any]]:
    return [
        (
            path,
            raw,
            ("ref", ref.raw, ref.task_id) if isinstance(ref, references.Reference) else ("bad",),
        )
        for path, raw, ref in found
    ]


PIECES = st.sampled_from(
    [
        "${a.result}",
        "${ a.result.x }",
        "${b.result[0].y}",
        "${a.res}",
        "${}",
        "${a.result.}",
        "x ${a.result} y ${b.result.z}",
        "${a.result}${b.result}",
        "$",
        "{",
        "}",
        "plain",
        "\u00e9",
    ]
)
STRINGS = st.lists(PIECES, max_size=3).map("".join)
VALUES = st.recursive(
    STRINGS | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
    max_leaves=20,
)


@EXAMPLES
@given(VALUES)
def test_list_references_finds_what_the_reference_walk_finds_in_the_same_order(value):
    expected = reference_walk(value)
    assert plain(references.list_references(value)) == expected
    assert plain(list(references.find_references(value))) == expected  # cached: same again


@pytest.mark.parametrize(
    ("text", "task", "path"),
    [
        ("${a.result}", "a", ()),
        ("${ a-1.result.x.y_z }", "a-1", ("x", "y_z")),
        ("${a.result.items[0].name}", "a", ("items", 0, "name")),
        ("${a.result[12][3]}", "a", (12, 3)),
    ],
)
def test_a_reference_knows_its_task_and_path(text, task, path):
    ((_, raw, ref),) = references.list_references({"v": text})
    assert (raw, ref.task_id, ref.path) == (text, task, path)
    assert references.parse(text[2:-1]) == ref


def test_the_path_worked_out_on_use_resolves_values():
    result = {"x": {"y_z": 5}, "items": [{"name": "n"}], "list": [[0, 1, 2, 3]]}
    assert references.resolve("${a.result.items[0].name}", lambda _id: result) == "n"
    assert references.resolve("${ a.result.x.y_z }", lambda _id: result) == 5
    assert references.resolve("${a.result.list[0][3]}", lambda _id: result) == 3
    assert references.resolve("v=${a.result.x}", lambda _id: result) == 'v={"y_z": 5}'


def test_a_reference_survives_pickle_and_copy():
    ((_, _, ref),) = references.list_references("${a.result.items[0]}")
    for clone in (pickle.loads(pickle.dumps(ref)), copy.deepcopy(ref), copy.copy(ref)):
        assert clone == ref and type(clone) is references.Reference
        assert (clone.task_id, clone.path, str(clone)) == (
            "a",
            ("items", 0),
            "${a.result.items[0]}",
        )
