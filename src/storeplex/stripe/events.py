"""What a well-formed Stripe event is, checked before anything reads it.

A correct signature says who sent a payload, not that it is an event: a sender
with the signing secret (or a Stripe bug) can send anything. `parse_event` turns
the raw body into the event dict every later step may trust, or raises
`MalformedEvent` with a sentence saying what is wrong. Nesting is bounded (the
parser's own recursion guard stops the extreme cases, `nesting_depth` the rest),
and every field that lands in an inbox column is bounded to that column.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A real event nests about ten levels (event, data, object, an expanded charge, its
# payment method details, the card's checks ...); far more is not an event.
MAX_DEPTH = 32
# Column sizes of stripe_events, and the largest `created` its column holds.
MAX_ID_LENGTH = 255
MAX_TYPE_LENGTH = 100
MAX_API_VERSION_LENGTH = 50
MAX_CREATED = 2**31 - 1

_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")
_TYPE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")


class MalformedEvent(ValueError):
    """A signed payload that is not a Stripe event; the message says what is wrong."""


def nesting_depth(text: str, *, stop_above: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in a valid JSON text, counted up to one level
    deeper than `stop_above`.

    In valid JSON a backslash occurs only in a string's escape and every other quote
    opens or closes a string; so, once the escaped backslashes and quotes are gone, the
    text between every other quote is the structure. Its brackets, all made square,
    lose their innermost empty pairs at each pass: the number of passes is the depth.
    Each step is one linear string operation in C (a megabyte takes milliseconds),
    never a Python loop over characters.
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    structure = "".join(unescaped.split('"')[0::2])
    brackets = structure.encode().translate(_SQUARE, _NOT_BRACKET)
    depth = 0
    while brackets and depth <= stop_above:
        brackets = brackets.replace(b"[]", b"")
        depth += 1
    return depth


def nests_deeper_than(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether a valid JSON text nests more than `limit` levels.

    A text can nest no deeper than it has opening brackets (counting those inside strings
    only raises the count), so a typical event, with a dozen or two, is cleared by two
    C-speed counts (~2 µs for 1.2 KB, against ~22 µs for the full measure, which runs only
    when the count is above the limit)."""
    if text.count("{") + text.count("[") <= limit:
        return False
    return nesting_depth(text, stop_above=limit) > limit


def _reject_constant(name: str) -> Any:
    raise MalformedEvent(f"the payload contains {name}, which is not JSON")


def _bounded_text(
    obj: dict[str, Any], key: str, limit: int, *, required: bool, label: str | None = None
) -> None:
    value = obj.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value or len(value) > limit:
        raise MalformedEvent(f"'{label or key}' must be a string of 1 to {limit} characters")


def parse_event(text: str) -> dict[str, Any]:
    """The event in `text`, checked to have what every handler reads; or MalformedEvent."""
    try:
        event = json.loads(text, parse_constant=_reject_constant)
    except MalformedEvent:
        raise
    except RecursionError:  # the parser's own guard, far beyond MAX_DEPTH
        raise MalformedEvent(f"the payload nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise MalformedEvent("the payload is not JSON") from None
    if nests_deeper_than(text, MAX_DEPTH):
        raise MalformedEvent(f"the payload nests deeper than {MAX_DEPTH} levels")
    if not isinstance(event, dict):
        raise MalformedEvent("the payload is not a JSON object")
    _bounded_text(event, "id", MAX_ID_LENGTH, required=True)
    _bounded_text(event, "type", MAX_TYPE_LENGTH, required=True)
    if not _TYPE.fullmatch(event["type"]):
        raise MalformedEvent("'type' must be dotted lowercase words, like payment_intent.created")
    created = event.get("created")
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created <= MAX_CREATED:
        raise MalformedEvent("'created' must be a time in whole seconds since 1970")
    if not isinstance(event.get("livemode", False), bool):
        raise MalformedEvent("'livemode' must be true or false")
    _bounded_text(event, "account", MAX_ID_LENGTH, required=False)
    _bounded_text(event, "api_version", MAX_API_VERSION_LENGTH, required=False)
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("'data.object' must be an object")
    _bounded_text(data["object"], "id", MAX_ID_LENGTH, required=False, label="data.object.id")
    return event
