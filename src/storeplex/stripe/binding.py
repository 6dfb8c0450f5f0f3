"""Whose event is it: a signed webhook is applied only to objects its sender owns.

A valid signature proves that Stripe sent the event, not that the event is about
one of *this* store's objects: every connected account's activity reaches the
Connect endpoint, signed with our secret, and its metadata says whatever the
account holder wrote. So a handler checks that the object belongs to the tenant
it would change, and raises `EventRejected` when it does not; the inbox then
keeps the event as rejected, with the reason, and never applies or retries it.

The rules, per object:
- a PaymentIntent or Charge must have our payment row's amount, currency and
  transfer destination (the store's connected account);
- a refund or dispute must be about one of our payments, in its currency, for at
  most its amount;
- an event on the Connect endpoint changes only the account named in `account`.
"""

from __future__ import annotations

from typing import Any

from storeplex.errors import Conflict


class EventRejected(Conflict):
    """The event's object is not the tenant's it claims to be, or differs from our record.

    On a page or API call that re-reads an object from Stripe this is a 409; in the
    webhook inbox it marks the event rejected (never applied, never retried).
    """

    code = "event_rejected"


def id_of(value: Any) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def destination_of(obj: dict[str, Any]) -> str | None:
    """The connected account a destination charge or intent pays (`transfer_data.destination`)."""
    transfer_data = obj.get("transfer_data")
    return id_of(transfer_data.get("destination")) if isinstance(transfer_data, dict) else None


def check_charge_terms(
    obj: dict[str, Any], *, amount: int, currency: str, destination: str | None
) -> None:
    """A PaymentIntent or Charge must carry exactly our amount, currency and destination."""
    name = f"{obj.get('object') or 'object'} {obj.get('id')}"
    problems = []
    if _whole(obj.get("amount")) != amount:
        problems.append(f"amount {obj.get('amount')!r} is not our {amount}")
    if str(obj.get("currency") or "").upper() != currency.upper():
        problems.append(f"currency {obj.get('currency')!r} is not our {currency.lower()!r}")
    got = destination_of(obj)
    if not destination or got != destination:
        problems.append(f"transfer destination {got!r} is not the store's account {destination!r}")
    if problems:
        raise EventRejected(f"{name}: " + "; ".join(problems))


def check_share_of_payment(obj: dict[str, Any], *, what: str, amount: int, currency: str) -> None:
    """A refund or dispute: in the payment's currency, for at most the payment's amount."""
    got = _whole(obj.get("amount"))
    problems = []
    if got is None or not 0 <= got <= amount:
        problems.append(f"amount {obj.get('amount')!r} is not within the payment's {amount}")
    if str(obj.get("currency") or "").upper() != currency.upper():
        problems.append(f"currency {obj.get('currency')!r} is not the payment's {currency!r}")
    if problems:
        raise EventRejected(f"{what} {obj.get('id')}: " + "; ".join(problems))
