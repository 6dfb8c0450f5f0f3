"""The nesting depth of a signed payload is measured on its text, without a Python loop over
characters: it must agree with the depth of the parsed value, whatever the strings hold."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from storeplex.stripe.events import MAX_DEPTH, nesting_depth, nests_deeper_than

# Strings full of what could fool a text scan: brackets, quotes, backslashes, escapes.
tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\/ \n\u005bé💳a'), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@given(json_values, st.booleans())
def test_the_depth_measured_on_the_text_is_the_depth_of_the_value(
    value: Any, ensure_ascii: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    assert nesting_depth(text, stop_above=1000) == depth_of(value)


def test_the_count_stops_one_level_past_the_limit() -> None:
    assert nesting_depth("[" * 5000 + "]" * 5000) == MAX_DEPTH + 1
    assert nesting_depth('{"a": [1, {"b": "]]]"}]}') == 3


@given(json_values, st.integers(min_value=0, max_value=6))
def test_the_quick_check_agrees_with_the_depth(value: Any, limit: int) -> None:
    """The bracket count that clears most events never clears one that nests too deep."""
    text = json.dumps(value)
    assert nests_deeper_than(text, limit) == (depth_of(value) > limit)


def test_the_quick_check_measures_when_the_count_is_above_the_limit() -> None:
    shallow = json.dumps([[] for _ in range(MAX_DEPTH + 5)])  # many brackets, depth 2
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    exact = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert (nests_deeper_than(shallow), nests_deeper_than(deep), nests_deeper_than(exact)) == (
        False,
        True,
        False,
    )
