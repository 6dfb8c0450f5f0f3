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


# Sign of the balance transaction each money object points to, and the field it mirrors.
_BOOKED: dict[str, tuple[int, str]] = {
    "charge": (1, "amount_captured"),
    "refund": (-1, "amount"),
    "transfer": (-1, "amount"),
    "transfer_reversal": (1, "amount"),
    "application_fee": (1, "amount"),
    "fee_refund": (-1, "amount"),
    "payout": (-1, "amount"),
}


def audit(state: State) -> list[str]:
    """Every way the books disagree with themselves (empty when they balance).

    Each balance transaction nets ``amount - fee`` and its fee is the sum of its fee
    details; each charge, refund, transfer, reversal, application fee, fee refund
    and payout is booked once, on its own account, for its own amount; a transfer's
    and a fee's refunded parts add up to their reversals and fee refunds; and each
    account's balance is the sum of its balance transactions.
    """
    problems: list[str] = []
    now = state.now()
    for stored in state.all_kind("balance_transaction"):
        txn = stored.obj
        if txn["net"] != txn["amount"] - txn["fee"]:
            problems.append(f"{txn['id']}: net {txn['net']} != amount - fee")
        if txn["fee"] != sum(d["amount"] for d in txn["fee_details"]):
            problems.append(f"{txn['id']}: fee {txn['fee']} != sum of fee_details")
        if txn["status"] == "available" and txn["available_on"] > now:
            problems.append(f"{txn['id']}: available before its available_on")
    for kind, (sign, field) in _BOOKED.items():
        for stored in state.all_kind(kind):
            obj = stored.obj
            txn_id = obj.get("balance_transaction")
            if not txn_id:
                if kind == "charge" and obj.get("captured"):
                    problems.append(f"{obj['id']}: captured charge with no balance transaction")
                continue
            booked = state.get(txn_id)
            if booked is None:
                problems.append(f"{obj['id']}: balance transaction {txn_id} is missing")
                continue
            if booked.owner != stored.owner:
                problems.append(f"{obj['id']}: booked on {booked.owner}, owned by {stored.owner}")
            if booked.obj["amount"] != sign * obj[field]:
                problems.append(
                    f"{obj['id']}: booked {booked.obj['amount']}, expected {sign * obj[field]}"
                )
    for stored in state.all_kind("transfer"):
        tr = stored.obj
        reversed_sum = sum(
            r.obj["amount"]
            for r in state.all_of(stored.owner, "transfer_reversal")
            if r.obj["transfer"] == tr["id"]
        )
        if reversed_sum != tr["amount_reversed"]:
            problems.append(f"{tr['id']}: reversals add to {reversed_sum}, not amount_reversed")
    for stored in state.all_kind("application_fee"):
        fee = stored.obj
        refunded = sum(
            r.obj["amount"]
            for r in state.all_of(stored.owner, "fee_refund")
            if r.obj["fee"] == fee["id"]
        )
        if refunded != fee["amount_refunded"]:
            problems.append(f"{fee['id']}: fee refunds add to {refunded}, not amount_refunded")
    owners = {s.owner for s in state.all_kind("balance_transaction")}
    for owner in sorted(owners):
        summed: dict[str, int] = {}
        for stored in state.all_kind("balance_transaction"):
            if stored.owner == owner:
                cur = stored.obj["currency"]
                summed[cur] = summed.get(cur, 0) + stored.obj["net"]
        shown = {c: v["available"] + v["pending"] for c, v in balances(state, owner).items()}
        if shown != summed:
            problems.append(f"{owner}: balance {shown} != sum of its transactions {summed}")
    return problems
