"""What each Stripe event does to our records. One function per event type, and the
endpoint each type is taken on.

A handler receives the verified event (a dict) and returns "applied" or
"ignored". It applies the event's object with forward-only rules, so a
duplicate, late or reordered event is harmless. Types not listed here are
stored in the inbox and marked ignored. A handler raises `EventRejected` when the
object is not the tenant's it would change (see `storeplex.stripe.binding`).

Which endpoint takes which type follows how Stripe delivers them for our destination
charges, which are made on the platform account:
- the platform endpoint (no `account` in the event) takes payment intents, charges,
  refunds, disputes and saved cards: all are objects of the platform account;
- the Connect endpoint (`account` = the connected account the event happened on)
  takes `account.updated`, `account.application.deauthorized` and `payout.*`.
A platform type arriving on the Connect endpoint is rejected: it is about an object
of a connected account (a direct charge or refund its holder made), never one of
ours, whatever its metadata says. An event on the platform endpoint carrying an
`account`, or a Connect event without one, is rejected as well. A Connect type on
the platform endpoint (with no account) is the platform's own account or payout,
not a store's, and is ignored. Rejected and ignored events are answered 2xx, so
Stripe does not send them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from storeplex.customers.webhooks import HANDLERS as CARD_HANDLERS
from storeplex.disputes.webhooks import HANDLERS as DISPUTE_HANDLERS
from storeplex.payments.service import PaymentService
from storeplex.payouts.webhooks import HANDLERS as PAYOUT_HANDLERS
from storeplex.refunds.webhooks import HANDLERS as REFUND_HANDLERS
from storeplex.stripe.binding import EventRejected

Handler = Callable[[PaymentService, dict[str, Any]], Awaitable[str]]

PLATFORM = "platform"
CONNECT = "connect"


async def payment_intent_changed(service: PaymentService, event: dict[str, Any]) -> str:
    payment = await service.apply_payment_intent(event["data"]["object"])
    return "applied" if payment is not None else "ignored"


async def charge_succeeded(service: PaymentService, event: dict[str, Any]) -> str:
    payment = await service.apply_charge(event["data"]["object"])
    return "applied" if payment is not None else "ignored"


async def account_updated(service: PaymentService, event: dict[str, Any]) -> str:
    account = event["data"]["object"]
    if account.get("id") != event.get("account"):
        raise EventRejected(
            f"account.updated from {event.get('account')} is about another account, "
            f"{account.get('id')}"
        )
    config = await service.update_store_account_status(
        account["id"], account, event_created=int(event["created"])
    )
    return "applied" if config is not None else "ignored"


async def account_deauthorized(service: PaymentService, event: dict[str, Any]) -> str:
    config = await service.mark_account_deauthorized(str(event.get("account")))
    return "applied" if config is not None else "ignored"


PLATFORM_HANDLERS: dict[str, Handler] = {
    # `created` records an intent of ours that we made at Stripe but never stored
    # (the process died, or the shopper's answer was cut, before our commit).
    "payment_intent.created": payment_intent_changed,
    "payment_intent.succeeded": payment_intent_changed,
    "payment_intent.payment_failed": payment_intent_changed,
    "payment_intent.processing": payment_intent_changed,
    # Still pending for us; the shopper gets a link back to pay if they do not finish.
    "payment_intent.requires_action": payment_intent_changed,
    "payment_intent.canceled": payment_intent_changed,
    "charge.succeeded": charge_succeeded,
    **REFUND_HANDLERS,
    **DISPUTE_HANDLERS,
    **CARD_HANDLERS,
}
CONNECT_HANDLERS: dict[str, Handler] = {
    "account.updated": account_updated,
    "account.application.deauthorized": account_deauthorized,
    **PAYOUT_HANDLERS,
}
# Every handled type, whichever endpoint takes it.
HANDLERS: dict[str, Handler] = {**PLATFORM_HANDLERS, **CONNECT_HANDLERS}


async def handle(
    service: PaymentService, event: dict[str, Any], *, endpoint: str
) -> tuple[str, str | None]:
    """Apply the event if its endpoint takes its type: ("applied" | "ignored", a note why
    it was ignored or None). Raises EventRejected for an event on the wrong endpoint."""
    event_type, account = event["type"], event.get("account")
    if endpoint == CONNECT:
        if not account:
            raise EventRejected("an event on the Connect endpoint must name its account")
        if event_type in PLATFORM_HANDLERS:
            raise EventRejected(
                f"{event_type} events of our payments come to the platform endpoint (our "
                f"charges are made on the platform account); this one came to the Connect "
                f"endpoint from connected account {account}"
            )
        handler = CONNECT_HANDLERS.get(event_type)
    else:
        if account:
            raise EventRejected(
                f"a platform event has no account; this one names connected account {account}"
            )
        if event_type in CONNECT_HANDLERS:
            return "ignored", f"{event_type} about the platform's own account, not a store's"
        handler = PLATFORM_HANDLERS.get(event_type)
    if handler is None:
        return "ignored", None
    return await handler(service, event), None
