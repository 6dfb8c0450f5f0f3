"""What each Stripe event does to our records. One function per event type.

A handler receives the verified event (a dict) and returns "applied" or
"ignored". It applies the event's object with forward-only rules, so a
duplicate, late or reordered event is harmless. Types not listed here are
stored in the inbox and marked ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from storeplex.payments.service import PaymentService

Handler = Callable[[PaymentService, dict[str, Any]], Awaitable[str]]


async def payment_intent_changed(service: PaymentService, event: dict[str, Any]) -> str:
    payment = await service.apply_payment_intent(event["data"]["object"])
    return "applied" if payment is not None else "ignored"


async def charge_succeeded(service: PaymentService, event: dict[str, Any]) -> str:
    payment = await service.apply_charge(event["data"]["object"])
    return "applied" if payment is not None else "ignored"


async def account_updated(service: PaymentService, event: dict[str, Any]) -> str:
    account = event["data"]["object"]
    config = await service.update_store_account_status(
        account["id"], account, event_created=int(event["created"])
    )
    return "applied" if config is not None else "ignored"


async def account_deauthorized(service: PaymentService, event: dict[str, Any]) -> str:
    config = await service.mark_account_deauthorized(str(event.get("account")))
    return "applied" if config is not None else "ignored"


HANDLERS: dict[str, Handler] = {
    # `created` records an intent of ours that we made at Stripe but never stored
    # (the process died, or the shopper's answer was cut, before our commit).
    "payment_intent.created": payment_intent_changed,
    "payment_intent.succeeded": payment_intent_changed,
    "payment_intent.payment_failed": payment_intent_changed,
    "payment_intent.processing": payment_intent_changed,
    "payment_intent.canceled": payment_intent_changed,
    "charge.succeeded": charge_succeeded,
    "account.updated": account_updated,
    "account.application.deauthorized": account_deauthorized,
}


async def handle(service: PaymentService, event: dict[str, Any]) -> str:
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return "ignored"
    return await handler(service, event)


# Money after the sale: refunds, disputes, payouts, saved cards (appended; see each module).
def _money_after_sale_handlers() -> dict[str, Handler]:
    from storeplex.customers.webhooks import HANDLERS as card_handlers
    from storeplex.disputes.webhooks import HANDLERS as dispute_handlers
    from storeplex.payouts.webhooks import HANDLERS as payout_handlers
    from storeplex.refunds.webhooks import HANDLERS as refund_handlers

    return {**refund_handlers, **dispute_handlers, **payout_handlers, **card_handlers}


HANDLERS.update(_money_after_sale_handlers())
