"""``/v1/balance`` and ``/v1/balance_transactions`` (scoped by ``Stripe-Account``)."""

from __future__ import annotations

from typing import Any

from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.ledger import balances
from stripe_emulator.schema import conform
from stripe_emulator.wire import not_found


@route("GET", "/v1/balance")
def retrieve_balance(ctx: Ctx) -> dict[str, Any]:
    sums = balances(ctx.state, ctx.account)
    acct = ctx.state.get(ctx.account)
    if not sums and acct is not None:
        sums = {acct.obj["default_currency"]: {"available": 0, "pending": 0}}
    available = [
        {"amount": v["available"], "currency": c, "source_types": {"card": v["available"]}}
        for c, v in sorted(sums.items())
    ]
    pending = [
        {"amount": v["pending"], "currency": c, "source_types": {"card": v["pending"]}}
        for c, v in sorted(sums.items())
    ]
    return conform(
        {
            "object": "balance",
            "available": available,
            "connect_reserved": [{"amount": 0, "currency": c} for c in sorted(sums)],
            "livemode": False,
            "pending": pending,
        }
    )


@route("GET", "/v1/balance_transactions", query=(*PAGING, "type", "payout", "source", "currency"))
def list_balance_transactions(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "balance_transaction")]
    if txn_type := p.str("type"):
        items = [i for i in items if i["type"] == txn_type]
    if source := p.str("source"):
        items = [i for i in items if i["source"] == source]
    if currency := p.str("currency"):
        items = [i for i in items if i["currency"] == currency.lower()]
    if payout_id := p.str("payout"):
        payout = ctx.state.find(payout_id, "payout", ctx.account)
        if payout is None:
            raise not_found("payout", payout_id, "payout")
        included = set(payout.private.get("txns", []))
        items = [i for i in items if i["id"] in included or i["source"] == payout_id]
    items = created_filter(p, items)
    return list_object(ctx, items, "/v1/balance_transactions")


@route("GET", "/v1/balance_transactions/{id}")
def retrieve_balance_transaction(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "balance_transaction").obj
