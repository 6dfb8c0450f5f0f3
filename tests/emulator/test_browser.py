"""The Stripe.js stand-in and hosted pages in headless Chromium (Playwright, no downloads)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from tests.emulator.support import Control, create_connected, publishable_for

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (browser tests need it)"
    ),
]

CHECKOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body>
<form id="payment-form">
  <div id="payment-element"></div>
  <button id="submit" type="submit">Pay</button>
  <div id="error-message" role="alert"></div>
</form>
<script src="{emulator}/js/v3/"></script>
<script>
  const stripe = Stripe("{pk}", {options});
  const elements = stripe.elements({{
    clientSecret: "{client_secret}", appearance: {{theme: "stripe"}}
  }});
  const paymentElement = elements.create("payment");
  paymentElement.on("ready", () => document.body.dataset.ready = "1");
  paymentElement.on("change", (e) => document.body.dataset.complete = e.complete ? "1" : "0");
  paymentElement.mount("#payment-element");
  document.getElementById("payment-form").addEventListener("submit", async (event) => {{
    event.preventDefault();
    const {{error}} = await stripe.{confirm}({{
      elements, confirmParams: {{return_url: "{return_url}"{extra}}}
    }});
    if (error) document.getElementById("error-message").textContent = error.message;
  }});
</script>
</body></html>
"""


class PageServer:
    """Serves test pages from another origin than the emulator."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                body = pages.get(
                    path, "<!doctype html><title>Done</title><h1>Return page</h1>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield instance
        await instance.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    await context.close()


async def _checkout(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    connected: Any,
    name: str,
) -> tuple[stripe.PaymentIntent, str]:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 2599,
            "currency": "eur",
            "application_fee_amount": 260,
            "transfer_data": {"destination": connected.id},
            "automatic_payment_methods": {"enabled": True},
        }
    )
    pages.pages[f"/{name}"] = page_html(
        emulator_url, secret_key, pi.client_secret, f"{pages.url}/done/{name}"
    )
    return pi, f"{pages.url}/{name}"


def page_html(
    emulator_url: str,
    secret_key: str,
    client_secret: str,
    return_url: str,
    *,
    account: str | None = None,
    setup: bool = False,
) -> str:
    return CHECKOUT.format(
        emulator=emulator_url,
        pk=publishable_for(secret_key),
        client_secret=client_secret,
        return_url=return_url,
        options=json.dumps({"stripeAccount": account} if account else {}),
        confirm="confirmSetup" if setup else "confirmPayment",
        extra="" if setup else ', receipt_email: "shopper@example.com"',
    )


async def _fill_card(page: Any, number: str, expiry: str = "12 / 34", cvc: str = "123") -> None:
    await page.wait_for_selector("body[data-ready='1']")
    await page.get_by_label("Card number").press_sequentially(number)
    await page.get_by_label("Expiration date (MM / YY)").press_sequentially(
        expiry.replace(" / ", "")
    )
    await page.get_by_label("Security code (CVC)").press_sequentially(cvc)


async def test_pay_with_4242_lands_on_return_url(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    page: Any,
    connected: Any,
) -> None:
    pi, url = await _checkout(client, emulator_url, secret_key, pages, connected, "ok")
    await page.goto(url)
    await _fill_card(page, "4242 4242 4242 4242")
    assert await page.get_attribute("body", "data-complete") == "1"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{pages.url}/done/ok?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["redirect_status"] == ["succeeded"] and query["payment_intent"] == [pi.id]
    assert query["payment_intent_client_secret"] == [pi.client_secret]
    after = await client.v1.payment_intents.retrieve_async(pi.id)
    assert after.status == "succeeded" and after.receipt_email == "shopper@example.com"


async def test_three_d_secure_modal_complete(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    page: Any,
    connected: Any,
) -> None:
    pi, url = await _checkout(client, emulator_url, secret_key, pages, connected, "threeds")
    await page.goto(url)
    await _fill_card(page, "4000002760003184")
    await page.get_by_role("button", name="Pay").click()
    dialog = page.get_by_role("dialog", name="3D Secure authentication")
    await dialog.wait_for()
    frame = page.frame_locator("iframe[title='3D Secure challenge']")
    await frame.get_by_role("button", name="Complete authentication").click()
    await page.wait_for_url(f"{pages.url}/done/threeds?**")
    assert parse_qs(urlsplit(page.url).query)["redirect_status"] == ["succeeded"]
    assert (await client.v1.payment_intents.retrieve_async(pi.id)).status == "succeeded"


async def test_three_d_secure_modal_fail_and_decline_show_errors(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    page: Any,
    connected: Any,
) -> None:
    pi, url = await _checkout(client, emulator_url, secret_key, pages, connected, "fail")
    await page.goto(url)
    await _fill_card(page, "4000002760003184")
    await page.get_by_role("button", name="Pay").click()
    frame = page.frame_locator("iframe[title='3D Secure challenge']")
    await frame.get_by_role("button", name="Fail authentication").click()
    error = page.locator("#error-message")
    await error.filter(has_text="failed authentication").wait_for()
    assert page.url == url
    assert await page.get_by_role("dialog").count() == 0
    after = await client.v1.payment_intents.retrieve_async(pi.id)
    assert after.status == "requires_payment_method"

    # now a declined card on the same intent: inline error, no redirect
    await page.get_by_label("Card number").fill("")
    await page.get_by_label("Card number").press_sequentially("4000000000009995")
    await page.get_by_role("button", name="Pay").click()
    await error.filter(has_text="Your card has insufficient funds.").wait_for()
    assert page.url == url


async def test_inline_validation(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    page: Any,
    connected: Any,
) -> None:
    _, url = await _checkout(client, emulator_url, secret_key, pages, connected, "invalid")
    await page.goto(url)
    await _fill_card(page, "4242 4242 4242 4241", expiry="01 / 20")
    await page.get_by_label("Security code (CVC)").press("Tab")
    await page.get_by_text("Your card number is invalid.").wait_for()
    await page.get_by_text("Your card's expiration year is in the past.").wait_for()
    assert await page.get_by_label("Card number").get_attribute("aria-invalid") == "true"
    await page.get_by_role("button", name="Pay").click()
    assert page.url == url
    assert await page.evaluate("document.activeElement.id.endsWith('-number')")


async def test_hosted_onboarding_in_browser(
    client: stripe.StripeClient, control: Control, pages: PageServer, page: Any
) -> None:
    account = await create_connected(client, control, onboard=False)
    link = await client.v1.account_links.create_async(
        params={
            "account": account.id,
            "refresh_url": f"{pages.url}/refresh",
            "return_url": f"{pages.url}/return",
            "type": "account_onboarding",
        }
    )
    await page.goto(link.url)
    button = page.get_by_role("button", name="Complete with test data")
    await button.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{pages.url}/return")
    refreshed = await client.v1.accounts.retrieve_async(account.id)
    assert refreshed.charges_enabled is True
    await page.goto(link.url)
    await page.wait_for_url(f"{pages.url}/refresh")


async def test_connected_account_payment_and_setup(
    client: stripe.StripeClient,
    emulator_url: str,
    secret_key: str,
    pages: PageServer,
    page: Any,
    connected: Any,
) -> None:
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    pi = await client.v1.payment_intents.create_async(
        params={"amount": 1200, "currency": "eur", "application_fee_amount": 120}, options=opts
    )
    pages.pages["/direct"] = page_html(
        emulator_url, secret_key, pi.client_secret, f"{pages.url}/done/direct", account=connected.id
    )
    await page.goto(f"{pages.url}/direct")
    await _fill_card(page, "5555 5555 5555 4444")
    await page.get_by_role("button", name="Pay").click()
    await page.wait_for_url(f"{pages.url}/done/direct?**")
    assert (
        await client.v1.payment_intents.retrieve_async(pi.id, options=opts)
    ).status == "succeeded"

    customer = await client.v1.customers.create_async(params={"email": "save@example.com"})
    seti = await client.v1.setup_intents.create_async(params={"customer": customer.id})
    pages.pages["/setup"] = page_html(
        emulator_url, secret_key, seti.client_secret, f"{pages.url}/done/setup", setup=True
    )
    await page.goto(f"{pages.url}/setup")
    await _fill_card(page, "4000 0025 0000 3155")
    await page.get_by_role("button", name="Pay").click()
    frame = page.frame_locator("iframe[title='3D Secure challenge']")
    await frame.get_by_role("button", name="Complete authentication").click()
    await page.wait_for_url(f"{pages.url}/done/setup?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["setup_intent"] == [seti.id] and query["redirect_status"] == ["succeeded"]
    saved = await client.v1.customers.payment_methods.list_async(customer.id)
    assert len(saved.data) == 1 and saved.data[0].card.last4 == "3155"
