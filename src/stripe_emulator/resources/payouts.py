"""Payouts: manual (``POST /v1/payouts``) and automatic per ``settings.payouts.schedule``.

Status moves ``pending`` -> ``in_transit`` (one day after creation) -> ``paid``
at ``arrival_date`` (two days after creation) as the emulator clock advances;
:func:`advance` does this and creates the scheduled automatic payouts (at each
UTC midnight crossed: daily, on ``weekly_anchor``, or on ``monthly_anchor``),
paying the account's whole available balance per currency.
"""

from __future__ import annotations

import datetime
from typing import Any

from stripe_emulator.core import PAGING, Ctx, created_filter, emit, list_object, route
from stripe_emulator.ledger import add_txn, available, balances, settle
from stripe_emulator.schema import conform
from stripe_emulator.state import DAY, State, Stored
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _emit(
    state: State,
    account: Stored,
    event_type: str,
    obj: dict[str, Any],
    previous: dict[str, Any] | None = None,
) -> None:
    platform = account.private.get("platform")
    if platform:
        emit(state, platform, event_type, obj, account=account.obj["id"], previous=previous)
    else:
        emit(state, account.obj["id"], event_type, obj, previous=previous)


def make_payout(
    state: State,
    account: Stored,
    *,
    amount: int,
    currency: str,
    automatic: bool,
    created: int,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    method: str = "standard",
    statement_descriptor: str | None = None,
) -> Stored:
    acct = account.obj
    po_id = state.new_id("po")
    swept = [
        s
        for s in state.all_of(acct["id"], "balance_transaction")
        if s.obj["status"] == "available"
        and not s.private.get("paid_out")
        and s.obj["currency"] == currency
    ]
    txn = add_txn(
        state,
        acct["id"],
        amount=-amount,
        currency=currency,
        txn_type="payout",
        source=po_id,
        available_on=created,
    )
    bank = (acct["external_accounts"]["data"] or [None])[0]
    payout = conform(
        {
            "id": po_id,
            "object": "payout",
            "amount": amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": created + (0 if method == "instant" else 2 * DAY),
            "automatic": automatic,
            "balance_transaction": txn["id"],
            "created": created,
            "currency": currency,
            "description": description or ("STRIPE PAYOUT" if automatic else None),
            "destination": bank["id"] if bank else None,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": metadata or {},
            "method": method,
            "original_payout": None,
            "payout_method": None,
            "reconciliation_status": "in_progress" if automatic else "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": statement_descriptor,
            "status": "pending",
            "trace_id": {"status": "pending", "value": None},
            "type": "bank_account",
        }
    )
    fail = state.next_payout_failure
    planned_failure = None
    if fail is not None and fail.get("account") in (None, acct["id"]):
        planned_failure = fail.get("failure_code") or "account_closed"
        state.next_payout_failure = None
    for s in swept:
        s.private["paid_out"] = po_id
    state.open_payouts.add(po_id)
    stored = state.add(
        payout, acct["id"], txns=[s.obj["id"] for s in swept] + [txn["id"]], failure=planned_failure
    )
    _emit(state, account, "payout.created", payout)
    return stored


FAILURES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "account_frozen": "The bank account has been frozen.",
}


def progress(state: State) -> None:
    """Move payouts along as time passes."""
    now = state.now()
    for po_id in sorted(state.open_payouts, key=lambda i: state.objects[i].seq):
        stored = state.objects[po_id]
        po = stored.obj
        if po["status"] not in ("pending", "in_transit"):
            state.open_payouts.discard(po_id)
            continue
        account = state.get(stored.owner)
        if account is None:
            continue
        if po["status"] == "pending" and now >= min(po["created"] + DAY, po["arrival_date"]):
            po["status"] = "in_transit"
            _emit(state, account, "payout.updated", po, {"status": "pending"})
        if po["status"] == "in_transit" and now >= po["arrival_date"]:
            failure = stored.private.get("failure")
            if failure:
                txn = add_txn(
                    state,
                    stored.owner,
                    amount=po["amount"],
                    currency=po["currency"],
                    txn_type="payout_failure",
                    source=po["id"],
                    immediate=True,
                )
                po.update(
                    status="failed",
                    failure_code=failure,
                    failure_balance_transaction=txn["id"],
                    failure_message=FAILURES.get(failure, "The payout failed."),
                )
                _emit(state, account, "payout.failed", po, {"status": "in_transit"})
            else:
                po["status"] = "paid"
                po["trace_id"] = {"status": "supported", "value": state.secret(16).upper()}
                po["reconciliation_status"] = "completed" if po["automatic"] else "not_applicable"
                _emit(state, account, "payout.paid", po, {"status": "in_transit"})
            _emit(state, account, "payout.updated", po, {"status": "in_transit"})
            state.open_payouts.discard(po_id)


def _due(schedule: dict[str, Any], day: datetime.date) -> bool:
    interval = schedule.get("interval")
    if interval == "daily":
        return True
    if interval == "weekly":
        return WEEKDAYS[day.weekday()] == schedule.get("weekly_anchor", "monday")
    if interval == "monthly":
        anchor = int(schedule.get("monthly_anchor") or 1)
        last = (day.replace(day=28) + datetime.timedelta(days=4)).replace(
            day=1
        ) - datetime.timedelta(days=1)
        return day.day == min(anchor, last.day)
    return False


def advance(state: State, previous_now: int) -> None:
    """Settle balances, run automatic payouts for each midnight crossed, progress payouts."""
    now = state.now()
    first_midnight = (previous_now // DAY + 1) * DAY
    for midnight in range(first_midnight, now + 1, DAY):
        settle(state, midnight)
        day = datetime.datetime.fromtimestamp(midnight, datetime.UTC).date()
        for stored in state.all_kind("account"):
            acct = stored.obj
            if not stored.private.get("platform"):
                continue
            if (
                stored.private.get("deleted")
                or stored.private.get("deauthorized")
                or not acct["payouts_enabled"]
            ):
                continue
            schedule = acct["settings"]["payouts"]["schedule"]
            if not _due(schedule, day):
                continue
            for currency, sums in balances(state, acct["id"]).items():
                if sums["available"] > 0:
                    make_payout(
                        state,
                        stored,
                        amount=sums["available"],
                        currency=currency,
                        automatic=True,
                        created=midnight,
                    )
    settle(state)
    progress(state)


@route("POST", "/v1/payouts")
def create_payout(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "amount": True,
            "currency": True,
            "description": True,
            "metadata": "any",
            "method": True,
            "statement_descriptor": True,
            "destination": True,
            "source_type": True,
        },
    )
    account = ctx.state.get(ctx.account)
    assert account is not None
    amount = p.req_int("amount", minimum=1)
    currency = (p.str("currency") or account.obj["default_currency"]).lower()
    method = p.str("method", choices=("standard", "instant")) or "standard"
    if account.private.get("platform") and not account.obj["payouts_enabled"]:
        raise StripeError(
            400, "Payouts are not enabled for this account.", code="payouts_not_allowed"
        )
    if available(ctx.state, ctx.account, currency) < amount:
        raise StripeError(
            400,
            "You have insufficient funds in your Stripe account for this transfer. Your card "
            "balance is too low. You can use the /v1/balance endpoint to view your Stripe balance "
            "(for more details, see stripe.com/docs/api#balance).",
            code="balance_insufficient",
        )
    return make_payout(
        ctx.state,
        account,
        amount=amount,
        currency=currency,
        automatic=False,
        created=ctx.now,
        description=p.str("description"),
        metadata=p.metadata(),
        method=method,
        statement_descriptor=p.str("statement_descriptor"),
    ).obj


@route("GET", "/v1/payouts/{id}")
def retrieve_payout(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "payout").obj


@route("POST", "/v1/payouts/{id}")
def update_payout(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"metadata": "any"})
    stored = ctx.load(ctx.args["id"], "payout")
    stored.obj["metadata"] = merge_metadata(stored.obj["metadata"], ctx.params.metadata())
    return stored.obj


@route("POST", "/v1/payouts/{id}/cancel")
def cancel_payout(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {})
    stored = ctx.load(ctx.args["id"], "payout")
    po = stored.obj
    if po["status"] != "pending":
        raise invalid(
            f"Payouts can only be canceled while they are pending (this one is {po['status']})."
        )
    txn = add_txn(
        ctx.state,
        stored.owner,
        amount=po["amount"],
        currency=po["currency"],
        txn_type="payout_cancel",
        source=po["id"],
        immediate=True,
    )
    po.update(status="canceled", failure_balance_transaction=txn["id"])
    account = ctx.state.get(stored.owner)
    assert account is not None
    _emit(ctx.state, account, "payout.canceled", po, {"status": "pending"})
    return po


@route("GET", "/v1/payouts", query=(*PAGING, "status", "arrival_date", "destination"))
def list_payouts(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "payout")]
    if status := p.str("status"):
        items = [i for i in items if i["status"] == status]
    return list_object(ctx, created_filter(p, items), "/v1/payouts")
