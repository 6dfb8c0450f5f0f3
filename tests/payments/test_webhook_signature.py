"""Who may post to the two webhook endpoints: only Stripe, signing with that endpoint's secret.

Each refused delivery is a 400 (503 when no secret is configured, so Stripe retries once
the operator has set it) with a message saying what was wrong, and stores nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import StripeEvent
from tests.support.stack import signature_header

PLATFORM = "/api/v1/webhooks/stripe"
CONNECT = "/api/v1/webhooks/stripe/connect"
PLATFORM_SECRET = "whsec_platform_test_secret_for_signatures"
CONNECT_SECRET = "whsec_connect_test_secret_for_signatures"
SECRETS = {PLATFORM: PLATFORM_SECRET, CONNECT: CONNECT_SECRET}


def event(event_id: str = "evt_sig_1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "type": "customer.created",  # one Storeplex does not act on: stored, then ignored
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": "cus_sig"}},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def client_for(settings: Settings, database: Database, tmp: Any, **secrets: str | None):  # type: ignore[no-untyped-def]
    configured = settings.model_copy(
        update={
            "data_dir": tmp,
            **{k: (None if v is None else _secret(v)) for k, v in secrets.items()},
        }
    )
    app = create_app(configured, database=database, check_schema=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@pytest.fixture
async def http(
    settings: Settings, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(
        settings,
        database,
        tmp_path_factory.mktemp("signed"),
        stripe_webhook_secret=PLATFORM_SECRET,
        stripe_connect_webhook_secret=CONNECT_SECRET,
    ) as client:
        yield client


async def stored(database: Database) -> int:
    async with database.session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(StripeEvent))).scalar_one())


async def post(
    http: httpx.AsyncClient, path: str, body: bytes | str, signature: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    content = body.encode() if isinstance(body, str) else body
    return await http.post(path, content=content, headers=headers)


def refusal(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["message"]


@pytest.mark.parametrize("path", [PLATFORM, CONNECT])
async def test_an_event_signed_with_the_endpoints_own_secret_is_received(
    http: httpx.AsyncClient, database: Database, path: str
) -> None:
    payload = json.dumps(event())
    r = await post(http, path, payload, signature_header(payload, SECRETS[path]))
    assert r.status_code == 200, r.text
    assert r.json()["received"] is True
    assert await stored(database) == 1


@pytest.mark.parametrize("path", [PLATFORM, CONNECT])
async def test_a_signature_made_with_the_other_endpoints_secret_is_refused(
    http: httpx.AsyncClient, database: Database, path: str
) -> None:
    payload = json.dumps(event())
    other = CONNECT_SECRET if path == PLATFORM else PLATFORM_SECRET
    r = await post(http, path, payload, signature_header(payload, other))
    assert refusal(r) == (400, "Invalid signature")
    assert await stored(database) == 0


async def test_a_signature_older_than_five_minutes_is_refused(
    http: httpx.AsyncClient, database: Database
) -> None:
    payload = json.dumps(event())
    now = int(time.time())
    # The header carries whole seconds: made 300 s ago is past the five minutes already.
    for age in (300, 301, 3600):
        r = await post(
            http, PLATFORM, payload, signature_header(payload, PLATFORM_SECRET, now - age)
        )
        assert refusal(r) == (400, "Invalid signature"), age
    assert await stored(database) == 0
    fresh = signature_header(payload, PLATFORM_SECRET, int(time.time()) - 240)
    assert (await post(http, PLATFORM, payload, fresh)).status_code == 200
    assert await stored(database) == 1


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "Missing Stripe-Signature header"),
        ("", "Missing Stripe-Signature header"),
        ("t=1,v1=é", "Invalid signature"),
        ("v1=" + "0" * 64, "Invalid signature"),
        ("garbage", "Invalid signature"),
    ],
)
async def test_a_missing_or_malformed_signature_is_refused(
    http: httpx.AsyncClient, database: Database, signature: str | None, message: str
) -> None:
    payload = json.dumps(event())
    if signature is not None and not signature.isascii():
        # httpx refuses to send non-ASCII header text; send its UTF-8 bytes as a client could.
        headers = {"Stripe-Signature": signature.encode(), "Content-Type": "application/json"}
        r = await http.post(PLATFORM, content=payload.encode(), headers=headers)
    else:
        r = await post(http, PLATFORM, payload, signature)
    assert refusal(r) == (400, message)
    assert await stored(database) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json{", "Invalid payload: not a Stripe event: the payload is not JSON"),
        ("[1, 2]", "Invalid payload: not a Stripe event"),
        ('"evt_1"', "Invalid payload: not a Stripe event"),
        (json.dumps(event(id=17)), "Invalid payload: not a Stripe event"),
        (json.dumps(event(id=None)), "Invalid payload: not a Stripe event"),
        (
            json.dumps(event(type=["payment_intent.succeeded"])),
            "Invalid payload: not a Stripe event",
        ),
        (json.dumps(event(type=None)), "Invalid payload: not a Stripe event"),
        (json.dumps(event(data=[{"object": {}}])), "Invalid payload: not a Stripe event"),
        (json.dumps(event(data=None)), "Invalid payload: not a Stripe event"),
    ],
)
async def test_a_correctly_signed_body_that_is_not_a_stripe_event_is_refused(
    http: httpx.AsyncClient, database: Database, body: str, message: str
) -> None:
    r = await post(http, PLATFORM, body, signature_header(body, PLATFORM_SECRET))
    status, said = refusal(r)
    assert status == 400 and said.startswith(message), said
    # Signed, so kept for the platform admin to inspect: as rejected, never applied.
    async with database.session_scope() as s:
        kept = list((await s.execute(select(StripeEvent.status, StripeEvent.type))).all())
    assert [(row[0], row[1]) for row in kept] == [("rejected", "malformed")]


async def test_a_body_that_is_not_utf8_is_refused(
    http: httpx.AsyncClient, database: Database
) -> None:
    body = b'{"id": "evt_\xff"}'
    signature = signature_header(body.decode("latin-1"), PLATFORM_SECRET)
    r = await post(http, PLATFORM, body, signature)
    assert refusal(r) == (400, "Invalid payload: not UTF-8")
    assert await stored(database) == 0


async def test_an_endpoint_without_a_signing_secret_refuses_everything_until_one_is_set(
    settings: Settings, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> None:
    payload = json.dumps(event())
    async with await client_for(
        settings,
        database,
        tmp_path_factory.mktemp("unsigned"),
        stripe_webhook_secret=None,
        stripe_connect_webhook_secret=None,
    ) as http:
        for path in (PLATFORM, CONNECT):
            r = await post(http, path, payload, signature_header(payload, PLATFORM_SECRET))
            assert refusal(r) == (503, "This webhook endpoint has no signing secret configured")
    assert await stored(database) == 0
