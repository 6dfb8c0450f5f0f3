"""Payments are visible in /metrics, and nothing secret reaches the logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from storeplex.db import Database
from tests.support.flows import create_intent, onboarded_store, order_for
from tests.support.stack import Stack


async def test_metrics_show_payments_webhooks_and_stripe_calls(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    intent = (await create_intent(http, kit, order)).json()
    stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    body = (await http.get("/metrics")).text
    assert 'storeplex_payments{status="succeeded"} 1.0' in body
    assert 'storeplex_webhook_events_total{endpoint="platform",outcome="applied"}' in body
    assert 'storeplex_webhook_events_total{endpoint="connect",outcome="received"}' in body
    assert "storeplex_webhook_lag_seconds_count" in body
    assert 'storeplex_stripe_calls_total{operation="payment_intent.create",outcome="ok"}' in body
    assert 'storeplex_stripe_call_duration_seconds_count{operation="account.create"}' in body


async def test_stripe_calls_log_one_line_each_without_secrets(
    database: Database, stack: Stack, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    intent = (await create_intent(http, kit, order)).json()
    stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    stripe_lines = [r for r in caplog.records if r.name == "storeplex.stripe"]
    operations = [r.getMessage() for r in stripe_lines]
    assert "stripe.account.create" in operations
    assert "stripe.payment_intent.create" in operations
    created = next(r for r in stripe_lines if r.getMessage() == "stripe.payment_intent.create")
    assert created.fields["order_id"] == order["id"]  # type: ignore[attr-defined]
    webhook_secret = stack.settings.stripe_webhook_secret
    assert webhook_secret is not None
    secrets = [stack.secret_key, webhook_secret.get_secret_value(), intent["client_secret"]]
    for record in caplog.records:
        text = record.getMessage() + repr(getattr(record, "fields", ""))
        for secret in secrets:
            assert secret not in text, f"secret in log line {record.name}: {text[:80]}"
