"""Every object the emulator serves carries exactly its type's top-level fields, and each of
those fields is one the official SDK declares for that type (so the emulator invents none)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import httpx
import stripe
from stripe._object_classes import OBJECT_CLASSES

from stripe_emulator.schema import EXTRA_OK, FIELDS
from tests.emulator.support import Control, WebhookReceiver

# Types the scenario below must produce (at top level or nested).
REQUIRED = set(
    [
        "account",
        "account_link",
        "login_link",
        "application",
        "application_fee",
        "balance",
        "balance_transaction",
        "bank_account",
        "capability",
        "charge",
        "customer",
        "dispute",
        "event",
        "fee_refund",
        "payment_intent",
        "payment_method",
        "payout",
        "refund",
        "setup_intent",
        "transfer",
        "transfer_reversal",
        "webhook_endpoint",
    ]
)


def load_fixtures() -> dict[str, set[str]]:
    """Each type's top-level fields, as the emulator's schema lists them."""
    return {kind: set(fields) for kind, fields in FIELDS.items()}


def sdk_fields(kind: str) -> set[str] | None:
    """The fields the official SDK's class for `kind` declares (None: no class for it)."""
    if kind not in OBJECT_CLASSES:
        return None
    module, name = OBJECT_CLASSES[kind]
    cls = getattr(importlib.import_module(module), name)
    declared: set[str] = set()
    for klass in cls.__mro__:
        declared |= {f for f in getattr(klass, "__annotations__", {}) if f[:1].islower()}
    return declared


def test_every_schema_field_is_one_the_sdk_declares() -> None:
    problems = {}
    for kind, fields in FIELDS.items():
        declared = sdk_fields(kind)
        if declared is None:
            assert kind.startswith("deleted_"), f"the SDK has no class for {kind}"
            continue
        unknown = set(fields) - declared - set(EXTRA_OK.get(kind, ()))
        if unknown:
            problems[kind] = sorted(unknown)
    assert problems == {}


def walk(node: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("object"), str) and node["object"] != "list":
            found.append(node)
        for value in node.values():
            walk(value, found)
    elif isinstance(node, list):
        for item in node:
            walk(item, found)


async def test_every_served_object_matches_its_fixture(
    emulator_url: str, secret_key: str, control: Control, receiver: WebhookReceiver
) -> None:
    fixtures = load_fixtures()
    served: list[dict[str, Any]] = []
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
    ) as http:

        async def call(
            method: str, path: str, data: dict[str, str] | None = None, account: str | None = None
        ) -> Any:
            headers = {"Stripe-Account": account} if account else {}
            response = await http.request(method, path, data=data, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            walk(body, served)
            return body

        await call("POST", "/v1/webhook_endpoints", {"url": receiver.url, "enabled_events[]": "*"})
        await call(
            "POST",
            "/v1/webhook_endpoints",
            {"url": receiver.url, "enabled_events[]": "*", "connect": "true"},
        )
        acct = await call(
            "POST",
            "/v1/accounts",
            {
                "type": "express",
                "country": "LU",
                "business_type": "individual",
                "capabilities[card_payments][requested]": "true",
                "capabilities[transfers][requested]": "true",
            },
        )
        await call(
            "POST",
            "/v1/account_links",
            {
                "account": acct["id"],
                "refresh_url": "http://x.example/a",
                "return_url": "http://x.example/b",
                "type": "account_onboarding",
            },
        )
        control.onboard(acct["id"])
        await call("GET", f"/v1/accounts/{acct['id']}")
        await call("GET", f"/v1/accounts/{acct['id']}/capabilities")
        await call("POST", f"/v1/accounts/{acct['id']}/login_links")
        cus = await call("POST", "/v1/customers", {"email": "shape@example.com"})
        pi = await call(
            "POST",
            "/v1/payment_intents",
            {
                "amount": "5000",
                "currency": "eur",
                "application_fee_amount": "500",
                "customer": cus["id"],
                "transfer_data[destination]": acct["id"],
                "payment_method": "pm_card_visa",
                "confirm": "true",
                "setup_future_usage": "off_session",
                "expand[]": "latest_charge.balance_transaction",
            },
        )
        charge = pi["latest_charge"]
        await call("GET", f"/v1/charges/{charge['id']}?expand[]=transfer&expand[]=application_fee")
        await call(
            "POST",
            "/v1/refunds",
            {
                "payment_intent": pi["id"],
                "amount": "1000",
                "reverse_transfer": "true",
                "refund_application_fee": "true",
            },
        )
        await call("GET", f"/v1/charges/{charge['id']}")
        await call("GET", "/v1/application_fees")
        transfers = await call("GET", "/v1/transfers")
        await call("GET", f"/v1/transfers/{transfers['data'][0]['id']}/reversals")
        fee = (await call("GET", "/v1/application_fees"))["data"][0]
        await call("GET", f"/v1/application_fees/{fee['id']}/refunds")
        await call(
            "POST",
            "/v1/payment_intents",
            {
                "amount": "700",
                "currency": "eur",
                "payment_method": "pm_card_createDispute",
                "confirm": "true",
            },
        )
        await call("GET", "/v1/disputes")
        await call(
            "POST",
            "/v1/setup_intents",
            {"customer": cus["id"], "payment_method": "pm_card_visa", "confirm": "true"},
        )
        await call("GET", f"/v1/customers/{cus['id']}/payment_methods")
        await call("GET", "/v1/balance")
        await call("GET", "/v1/balance_transactions?limit=100")
        control.advance(3 * 86400)
        await call("GET", "/v1/payouts", account=acct["id"])
        await call("GET", "/v1/balance", account=acct["id"])
        await call("GET", "/v1/events?limit=100", account=acct["id"])
        control.post(f"accounts/{acct['id']}/deauthorize")
        await call("GET", "/v1/events?limit=100")
        await call("GET", "/v1/events?limit=100", account=None)
        events = await call("GET", "/v1/events?limit=100&type=account.application.deauthorized")
        assert events["data"] == []  # deauthorization is a Connect event on the account
        await call("GET", "/v1/webhook_endpoints")

    control.flush()
    for raw in receiver.received:
        walk(json.loads(raw["body"]), served)

    kinds = {obj["object"] for obj in served}
    assert kinds >= REQUIRED, f"scenario did not produce: {REQUIRED - kinds}"
    problems = []
    for obj in served:
        kind = obj["object"]
        if obj.get("deleted") is True:
            fixture_fields = set(fixtures[f"deleted_{kind}"])
        else:
            assert kind in fixtures, f"no fixture for {kind}"
            fixture_fields = set(fixtures[kind])
        fields = set(obj)
        missing = fixture_fields - fields
        extra = fields - fixture_fields - set(EXTRA_OK.get(kind, ()))
        if missing or extra:
            problems.append(
                f"{kind} {obj.get('id')}: missing={sorted(missing)} extra={sorted(extra)}"
            )
    assert not problems, "\n".join(problems[:20])


async def test_deleted_objects(client: stripe.StripeClient) -> None:
    fixtures = load_fixtures()
    customer = await client.v1.customers.create_async()
    deleted = await client.v1.customers.delete_async(customer.id)
    assert set(deleted.to_dict()) == set(fixtures["deleted_customer"])
    again = await client.v1.customers.retrieve_async(customer.id)
    assert again.to_dict()["deleted"] is True
