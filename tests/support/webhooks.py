"""The two webhook endpoints of the app, their signing secrets, and the inbox rows read back."""

from __future__ import annotations

from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import StripeEvent
from tests.support.stack import Stack

PLATFORM = "/api/v1/webhooks/stripe"


CONNECT = "/api/v1/webhooks/stripe/connect"


def secrets_of(stack: Stack) -> tuple[str, str]:
    platform = stack.settings.stripe_webhook_secret
    connect = stack.settings.stripe_connect_webhook_secret
    assert platform and connect
    return platform.get_secret_value(), connect.get_secret_value()


async def event_rows(database: Database) -> list[StripeEvent]:
    async with database.session_scope() as s:
        return list((await s.execute(select(StripeEvent).order_by(StripeEvent.id))).scalars())
