"""Wire format: auth, errors, params, lists, CORS, publishable-key limits."""

from __future__ import annotations

import httpx
import pytest
import stripe

from stripe_emulator.wire import mask_key, parse_form
from tests.emulator.support import make_client, publishable_for


def test_parse_nested_form() -> None:
    body = (
        "metadata%5Bk%5D=v&expand%5B%5D=a&expand%5B%5D=b&transfer_data%5Bdestination%5D=acct_1"
        "&items%5B0%5D%5Bprice%5D=p1&items%5B1%5D%5Bprice%5D=p2&capabilities%5Bcard_payments%5D%5Brequested%5D=true"
    )
    assert parse_form(body) == {
        "metadata": {"k": "v"},
        "expand": ["a", "b"],
        "transfer_data": {"destination": "acct_1"},
        "items": [{"price": "p1"}, {"price": "p2"}],
        "capabilities": {"card_payments": {"requested": "true"}},
    }


def test_mask_key_never_shows_whole_key() -> None:
    key = "sk_test_abcdefghijkl1234"
    masked = mask_key(key)
    assert masked.startswith("sk_test_") and masked.endswith("1234")
    assert "abcdefgh" not in masked


async def test_bad_key_is_authentication_error(emulator_url: str) -> None:
    bad = make_client(emulator_url, "sk_live_abcdefghijklmnop9876")
    with pytest.raises(stripe.AuthenticationError) as info:
        await bad.v1.customers.list_async()
    assert "sk_live_" in str(info.value.user_message) and "9876" in str(info.value.user_message)
    assert "abcdefghijklmnop" not in str(info.value.user_message)
    async with httpx.AsyncClient(base_url=emulator_url) as http:
        response = await http.get("/v1/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in response.json()["error"]["message"]


async def test_unknown_route_and_unknown_param(
    client: stripe.StripeClient, emulator_url: str, secret_key: str
) -> None:
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
    ) as http:
        response = await http.get("/v1/foo")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/foo)")
    assert response.headers["request-id"].startswith("req_")
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.customers.create_async(params={"email": "a@b.c", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert info.value.param == "colour"
    assert "Received unknown parameter: colour" in str(info.value.user_message)


async def test_bad_integer_names_param(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(params={"amount": "12x", "currency": "eur"})  # type: ignore[typeddict-item]
    assert info.value.param == "amount"
    assert info.value.http_status == 400


async def test_amount_too_small(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(params={"amount": 49, "currency": "eur"})
    assert info.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payment_intents.create_async(params={"amount": 29, "currency": "gbp"})
    ok = await client.v1.payment_intents.create_async(params={"amount": 30, "currency": "gbp"})
    assert ok.status == "requires_payment_method"


async def test_list_pagination_newest_first(client: stripe.StripeClient) -> None:
    ids = []
    for i in range(5):
        customer = await client.v1.customers.create_async(params={"email": f"c{i}@example.com"})
        ids.append(customer.id)
    page = await client.v1.customers.list_async(params={"limit": 2})
    assert [c.id for c in page.data] == [ids[4], ids[3]]
    assert page.has_more is True and page.url == "/v1/customers"
    page2 = await client.v1.customers.list_async(params={"limit": 2, "starting_after": ids[3]})
    assert [c.id for c in page2.data] == [ids[2], ids[1]]
    page3 = await client.v1.customers.list_async(params={"limit": 10, "ending_before": ids[1]})
    assert [c.id for c in page3.data] == [ids[4], ids[3], ids[2]]
    by_email = await client.v1.customers.list_async(params={"email": "c2@example.com"})
    assert [c.id for c in by_email.data] == [ids[2]]
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.customers.list_async(params={"limit": 101})
    assert info.value.param == "limit"


async def test_cors_preflight(emulator_url: str) -> None:
    async with httpx.AsyncClient(base_url=emulator_url) as http:
        response = await http.options(
            "/v1/payment_methods",
            headers={
                "Origin": "http://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,stripe-account,content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "stripe-account" in response.headers["access-control-allow-headers"].lower()


async def test_publishable_key_only_for_client_side_calls(
    client: stripe.StripeClient, emulator_url: str, secret_key: str
) -> None:
    pk = publishable_for(secret_key)
    pi = await client.v1.payment_intents.create_async(params={"amount": 1000, "currency": "eur"})
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {pk}"}
    ) as http:
        listing = await http.get("/v1/payment_intents")
        assert listing.status_code == 401
        no_secret = await http.get(f"/v1/payment_intents/{pi.id}")
        assert no_secret.status_code in (401, 403)
        wrong = await http.get(
            f"/v1/payment_intents/{pi.id}", params={"client_secret": "pi_x_secret_y"}
        )
        assert wrong.status_code == 400
        ok = await http.get(
            f"/v1/payment_intents/{pi.id}", params={"client_secret": pi.client_secret}
        )
        assert ok.status_code == 200 and ok.json()["id"] == pi.id
        pm = await http.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2040",
                "card[cvc]": "123",
            },
        )
        assert pm.status_code == 200, pm.text
        confirmed = await http.post(
            f"/v1/payment_intents/{pi.id}/confirm",
            data={"client_secret": pi.client_secret, "payment_method": pm.json()["id"]},
        )
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"
    with pytest.raises(stripe.AuthenticationError):
        await make_client(
            emulator_url, pk.replace("pk_test_", "pk_live_")
        ).v1.customers.list_async()


async def test_non_test_card_number_is_refused(emulator_url: str, secret_key: str) -> None:
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
    ) as http:
        luhn_bad = await http.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424241",
                "card[exp_month]": "12",
                "card[exp_year]": "2040",
            },
        )
        real = await http.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4111111111111111",
                "card[exp_month]": "12",
                "card[exp_year]": "2040",
            },
        )
    assert luhn_bad.status_code == 402 and luhn_bad.json()["error"]["code"] == "incorrect_number"
    assert real.status_code == 402 and real.json()["error"]["type"] == "card_error"


async def test_stripe_version_is_echoed(emulator_url: str, secret_key: str) -> None:
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
    ) as http:
        response = await http.get("/v1/balance", headers={"Stripe-Version": "2024-06-20"})
    assert response.headers["stripe-version"] == "2024-06-20"
    assert response.json()["object"] == "balance"


async def test_unknown_query_parameter_and_malformed_hash(
    client: stripe.StripeClient, emulator_url: str, secret_key: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.list_async(params={"colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert info.value.param == "colour"
    async with httpx.AsyncClient(
        base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
    ) as http:
        bad_hash = await http.post("/v1/customers", data={"metadata": "x", "metadata[a]": "b"})
        bad_bool = await http.post(
            "/v1/payment_intents", data={"amount": "100", "currency": "eur", "confirm": "maybe"}
        )
    assert (
        bad_hash.status_code == 400 and bad_hash.json()["error"]["type"] == "invalid_request_error"
    )
    assert bad_bool.status_code == 400 and bad_bool.json()["error"]["param"] == "confirm"


async def test_expand_on_lists_and_nested(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(params={"email": "x@example.com"})
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["customer", "payment_method"],
        }
    )
    assert pi.customer.email == "x@example.com" and pi.payment_method.card.last4 == "4242"
    charges = await client.v1.charges.list_async(
        params={"expand": ["data.payment_intent", "data.balance_transaction"]}
    )
    assert charges.data[0].payment_intent.id == pi.id
    assert charges.data[0].balance_transaction.object == "balance_transaction"
    plain = await client.v1.charges.list_async()
    assert isinstance(plain.data[0].payment_intent, str)
