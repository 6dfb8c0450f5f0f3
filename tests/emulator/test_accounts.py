"""Connect accounts: creation, onboarding (hosted page and shortcut), events, scoping.

Sources (Stripe documentation): "Express accounts" and "Account Links" (single-use
onboarding links with refresh_url and return_url), "Capabilities" (card_payments and
transfers become active once requirements are met), "Making API calls for connected
accounts" (the Stripe-Account header), "account.updated" and
"account.application.deauthorized" events.
"""

from __future__ import annotations

import re

import httpx
import pytest
import stripe

from tests.emulator.support import Control, WebhookReceiver, create_connected, make_client

CAPS = {"card_payments": {"requested": True}, "transfers": {"requested": True}}


async def test_express_account_starts_restricted(client: stripe.StripeClient) -> None:
    account = await client.v1.accounts.create_async(
        params={
            "type": "express",
            "country": "DE",
            "email": "a@example.com",
            "business_type": "company",
            "capabilities": CAPS,
            "business_profile": {"name": "Shop", "url": "https://shop.example"},
            "metadata": {"store_id": "42"},
        }
    )
    assert account.id.startswith("acct_")
    assert (
        account.type == "express" and account.country == "DE" and account.default_currency == "eur"
    )
    assert account.charges_enabled is False and account.payouts_enabled is False
    assert account.details_submitted is False
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert "external_account" in account.requirements.currently_due
    assert account.requirements.disabled_reason == "requirements.past_due"
    assert account.business_profile.name == "Shop"
    assert account.metadata["store_id"] == "42"
    assert account.settings.payouts.schedule.interval == "daily"


async def test_merchant_business_type_is_rejected(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.create_async(
            params={"type": "express", "business_type": "merchant"}
        )  # type: ignore[typeddict-item]
    assert info.value.param == "business_type"


async def _follow_onboarding(url: str, outcome_label: str) -> httpx.Response:
    async with httpx.AsyncClient(follow_redirects=False) as http:
        page = await http.get(url)
        assert page.status_code == 200
        assert outcome_label in page.text
        value = "complete" if outcome_label.startswith("Complete") else "requirements_due"
        assert f'value="{value}"' in page.text
        return await http.post(url, data={"outcome": value})


async def test_hosted_onboarding_completes_and_emits_account_updated(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    endpoint = await client.v1.webhook_endpoints.create_async(
        params={
            "url": receiver.url + "/connect",
            "enabled_events": ["account.updated"],
            "connect": True,
        }
    )
    platform_endpoint = await client.v1.webhook_endpoints.create_async(
        params={"url": receiver.url + "/platform", "enabled_events": ["*"]}
    )
    assert endpoint.secret.startswith("whsec_") and platform_endpoint.secret
    account = await create_connected(client, control, onboard=False)
    link = await client.v1.account_links.create_async(
        params={
            "account": account.id,
            "refresh_url": "http://shop.example/refresh",
            "return_url": "http://shop.example/return",
            "type": "account_onboarding",
        }
    )
    assert re.search(r"/_emulator/hosted/onboarding/\w+$", link.url)
    assert link.expires_at >= control.now() + 290
    done = await _follow_onboarding(link.url, "Complete with test data")
    assert done.status_code == 303 and done.headers["location"] == "http://shop.example/return"

    account = await client.v1.accounts.retrieve_async(account.id)
    assert account.charges_enabled and account.payouts_enabled and account.details_submitted
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert account.requirements.currently_due == [] and account.requirements.disabled_reason is None
    assert len(account.external_accounts.data) == 1

    control.flush()
    events = receiver.wait_for(
        lambda e: e["type"] == "account.updated" and e["data"]["object"]["charges_enabled"]
    )
    event = events[0]
    assert event["account"] == account.id
    assert event["data"]["previous_attributes"]["charges_enabled"] is False
    paths = {r["path"] for r in receiver.received if b"account.updated" in r["body"]}
    assert paths == {"/connect"}, "account.updated must go only to the Connect endpoint"
    raw = next(r for r in receiver.received if r["path"] == "/connect")
    verified = stripe.Webhook.construct_event(
        raw["body"], raw["headers"]["Stripe-Signature"], endpoint.secret
    )
    assert verified.type == "account.updated"

    # the link is single use: a second visit goes to refresh_url
    async with httpx.AsyncClient() as http:
        again = await http.get(link.url)
    assert again.status_code == 303 and again.headers["location"] == "http://shop.example/refresh"


async def test_leave_requirements_due_and_expiry(
    client: stripe.StripeClient, control: Control
) -> None:
    account = await create_connected(client, control, onboard=False)
    params = {
        "account": account.id,
        "refresh_url": "http://x.example/refresh",
        "return_url": "http://x.example/return",
        "type": "account_onboarding",
    }
    link = await client.v1.account_links.create_async(params=params)  # type: ignore[arg-type]
    done = await _follow_onboarding(link.url, "Leave requirements due")
    assert done.headers["location"] == "http://x.example/return"
    account = await client.v1.accounts.retrieve_async(account.id)
    assert account.details_submitted is True and account.charges_enabled is False
    assert account.requirements.currently_due == ["individual.verification.document"]

    expired = await client.v1.account_links.create_async(params=params)  # type: ignore[arg-type]
    control.advance(301)
    async with httpx.AsyncClient() as http:
        response = await http.get(expired.url)
    assert (
        response.status_code == 303 and response.headers["location"] == "http://x.example/refresh"
    )


async def test_update_payout_schedule_and_login_link(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    updated = await client.v1.accounts.update_async(
        connected.id,
        params={
            "settings": {
                "payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}
            },
            "metadata": {"a": "b"},
        },
    )
    assert updated.settings.payouts.schedule.interval == "weekly"
    assert updated.settings.payouts.schedule.weekly_anchor == "friday"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.update_async(
            connected.id,
            params={"settings": {"payouts": {"schedule": {"interval": "hourly"}}}},  # type: ignore[typeddict-item]
        )
    assert info.value.param == "settings[payouts][schedule][interval]"
    login = await client.v1.accounts.login_links.create_async(connected.id)
    assert "/_emulator/hosted/express/" in login.url
    listed = await client.v1.accounts.list_async()
    assert [a.id for a in listed.data] == [connected.id]


async def test_platforms_and_accounts_are_isolated(
    client: stripe.StripeClient, control: Control, emulator_url: str, connected: stripe.Account
) -> None:
    other = make_client(emulator_url)
    customer = await client.v1.customers.create_async(params={"email": "x@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        await other.v1.customers.retrieve_async(customer.id)
    assert info.value.http_status == 404
    with pytest.raises(stripe.PermissionError):
        await other.v1.accounts.retrieve_async(connected.id)
    with pytest.raises(stripe.PermissionError) as perm:
        await other.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    assert perm.value.json_body["error"]["code"] == "account_invalid"

    second = await create_connected(client, control)
    on_first = await client.v1.customers.create_async(
        params={"email": "c@example.com"}, options={"stripe_account": connected.id}
    )
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.customers.retrieve_async(on_first.id, options={"stripe_account": second.id})
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.customers.retrieve_async(on_first.id)  # not on the platform either
    with pytest.raises(stripe.PermissionError):
        await client.v1.accounts.retrieve_async(second.id, options={"stripe_account": connected.id})


async def test_deauthorize_emits_connect_event(
    client: stripe.StripeClient,
    control: Control,
    receiver: WebhookReceiver,
    connected: stripe.Account,
) -> None:
    await client.v1.webhook_endpoints.create_async(
        params={
            "url": receiver.url,
            "enabled_events": ["account.application.deauthorized"],
            "connect": True,
        }
    )
    control.post(f"accounts/{connected.id}/deauthorize")
    control.flush()
    event = receiver.wait_for(lambda e: e["type"] == "account.application.deauthorized")[0]
    assert event["account"] == connected.id
    with pytest.raises(stripe.PermissionError):
        await client.v1.accounts.retrieve_async(connected.id)
