"""Balance transactions (``txn_``) and the balances computed from them.

Each money movement on an account is one balance transaction.  It is
``pending`` until ``available_on`` (emulator clock) and ``available`` after;
:func:`settle` flips statuses when the clock moves.  Balances are sums of
``net`` per currency and status.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator.schema import conform
from stripe_emulator.state import DAY, State

REPORTING = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "transfer": "transfer",
    "transfer_refund": "transfer_reversal",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "adjustment": "dispute",
    "payout": "payout",
    "payout_failure": "payout_reversal",
    "payout_cancel": "payout_reversal",
    "refund_failure": "refund_failure",
}


def delay_for(state: State, owner: str) -> int:
    """Seconds until funds on ``owner`` become available (its payout ``delay_days``)."""
    stored = state.get(owner)
    days = state.platform_available_delay_days
    if stored is not None and stored.private.get("platform"):
        days = stored.obj["settings"]["payouts"]["schedule"].get("delay_days", days)
    return int(days) * DAY


def add_txn(
    state: State,
    owner: str,
    *,
    amount: int,
    currency: str,
    txn_type: str,
    source: str | None,
    fee: int = 0,
    fee_details: list[dict[str, Any]] | None = None,
    description: str | None = None,
    available_on: int | None = None,
    immediate: bool = False,
    reporting_category: str | None = None,
) -> dict[str, Any]:
    now = state.now()
    if available_on is None:
        available_on = now if immediate else now + delay_for(state, owner)
    txn = conform(
        {
            "id": state.new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": available_on,
            "balance_type": "payments",
            "created": now,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": fee_details or [],
            "net": amount - fee,
            "reporting_category": reporting_category or REPORTING.get(txn_type, "other"),
            "source": source,
            "status": "available" if available_on <= now else "pending",
            "type": txn_type,
        }
    )
    state.add(txn, owner)
    if txn["status"] == "pending":
        state.pending_txns.add(txn["id"])
    return txn


def stripe_fee_detail(
    amount: int, currency: str, description: str = "Stripe processing fees"
) -> dict[str, Any]:
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": description,
        "type": "stripe_fee",
    }


def settle(state: State, until: int | None = None) -> None:
    """Mark transactions whose ``available_on`` has passed as ``available``."""
    moment = state.now() if until is None else until
    for txn_id in list(state.pending_txns):
        stored = state.get(txn_id)
        if stored is None:
            state.pending_txns.discard(txn_id)
        elif stored.obj["available_on"] <= moment:
            stored.obj["status"] = "available"
            state.pending_txns.discard(txn_id)


def balances(state: State, owner: str) -> dict[str, dict[str, int]]:
    """``{currency: {"available": n, "pending": m}}`` for one account."""
    out: dict[str, dict[str, int]] = {}
    for stored in state.all_of(owner, "balance_transaction"):
        txn = stored.obj
        bucket = out.setdefault(txn["currency"], {"available": 0, "pending": 0})
        bucket[txn["status"]] += txn["net"]
    return out


def available(state: State, owner: str, currency: str) -> int:
    return balances(state, owner).get(currency, {}).get("available", 0)
