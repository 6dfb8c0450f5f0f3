"""What `payment_method.attached` / `.detached` do: save or retire a shopper's card."""

from __future__ import annotations

from typing import Any

from storeplex.customers.service import mark_detached, record_payment_method
from storeplex.payments.service import PaymentService


async def attached(service: PaymentService, event: dict[str, Any]) -> str:
    row = await record_payment_method(service.db, event["data"]["object"])
    return "applied" if row is not None else "ignored"


async def detached(service: PaymentService, event: dict[str, Any]) -> str:
    return "applied" if await mark_detached(service.db, event["data"]["object"]) else "ignored"


HANDLERS = {
    "payment_method.attached": attached,
    "payment_method.detached": detached,
}
