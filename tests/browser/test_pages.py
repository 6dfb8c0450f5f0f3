"""Page behaviour that needs no browser: login guards, CSRF on forms, HTML error pages,
form errors that write nothing, and the Stripe.js source. In-process over ASGI."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import Order, Product
from storeplex.web.common import stripe_js_url
from tests.support.factories import PASSWORD, make_product, make_store_kit
from tests.support.shop import make_order


async def post_login(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    """Post a login form as a browser does: with the token of the form it was shown."""
    return await client.post(path, data={**data, "csrf_token": await csrf_of(client, path)})


async def login_page_session(client: httpx.AsyncClient, email: str) -> None:
    r = await post_login(client, "/admin/login", email=email, password=PASSWORD)
    assert r.status_code == 303, r.text


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    html = (await client.get(path)).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_admin_pages_redirect_to_login_and_back(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.get("/admin/orders?status=processing")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/login?next=%2Fadmin%2Forders%3Fstatus%3Dprocessing"
    r = await post_login(
        client, "/admin/login", email=kit.owner_email, password=PASSWORD, next="/admin/orders"
    )
    assert (r.status_code, r.headers["location"]) == (303, "/admin/orders")
    r = await post_login(
        client, "/admin/login", email=kit.owner_email, password=PASSWORD, next="https://evil.test/"
    )
    assert r.headers["location"] == "/admin"  # never off-site


async def test_wrong_password_rerenders_the_form_with_a_message(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await post_login(client, "/admin/login", email=kit.owner_email, password="nope")
    assert r.status_code == 401
    assert 'role="alert"' in r.text and "Log in" in r.text
    assert "storeplex_staff" not in r.headers.get("set-cookie", "")


async def test_form_without_csrf_token_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    await login_page_session(client, kit.owner_email)
    data = {"name": "Kettle", "sku": "K-1", "price": "12.50", "stock": "4"}
    r = await client.post("/admin/products/new", data=data)
    assert r.status_code == 403
    assert "text/html" in r.headers["content-type"]
    assert "This form has expired" in r.text
    csrf = await csrf_of(client, "/admin/products/new")
    r = await client.post("/admin/products/new", data={**data, "csrf_token": csrf})
    assert r.status_code == 303
    async with database.session_scope() as s:
        product = (await s.execute(select(Product).where(Product.sku == "K-1"))).scalar_one()
    assert (product.price_amount, product.stock) == (1250, 4)


async def test_bad_product_price_rerenders_with_the_message_and_keeps_input(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    await login_page_session(client, kit.owner_email)
    csrf = await csrf_of(client, "/admin/products/new")
    data = {"name": "Kettle", "sku": "K-2", "price": "12.505", "stock": "4", "csrf_token": csrf}
    r = await client.post("/admin/products/new", data=data)
    assert r.status_code == 400
    assert 'role="alert"' in r.text and "decimal" in r.text.lower()
    assert 'value="12.505"' in r.text and 'value="Kettle"' in r.text
    async with database.session_scope() as s:
        count = (await s.execute(select(func.count(Product.id)))).scalar()
    assert count == 0


async def test_another_stores_order_is_an_html_404(
    client: httpx.AsyncClient, database: Database
) -> None:
    mine = await make_store_kit(database)
    theirs = await make_store_kit(database)
    kettle = await make_product(database, theirs.store, stock=5)
    their_order = await make_order(
        database, theirs.store, [(kettle, 1)], email="their-shopper@example.com"
    )
    await login_page_session(client, mine.owner_email)
    # Another store's real order reads exactly like an order that does not exist.
    r = await client.get(f"/admin/orders/{their_order.order.id}")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"] and "Not found" in r.text
    assert "their-shopper@example.com" not in r.text
    missing = await client.get("/admin/orders/999999")
    assert missing.status_code == 404
    r = await client.get("/admin/orders/not-a-number")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


async def test_checkout_errors_name_each_field_and_place_no_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store, price_amount=1000, stock=2)
    slug = kit.store.slug
    r = await client.post(
        f"/s/{slug}/cart/add", data={"product_id": str(product.id), "quantity": "3"}
    )
    assert r.status_code == 400 and "Only 2 of" in r.text  # above stock: nothing added
    r = await client.post(
        f"/s/{slug}/cart/add", data={"product_id": str(product.id), "quantity": "2"}
    )
    assert r.status_code == 303
    r = await client.post(
        f"/s/{slug}/checkout",
        data={"email": "not-an-email", "name": "", "line1": "1 Rue", "city": "Lux",
              "postal_code": "L-1", "country": "LU"},
    )  # fmt: skip
    assert r.status_code == 400
    assert "Enter an email address" in r.text and "Full name is required." in r.text
    assert 'id="f-email"' in r.text and 'aria-invalid="true"' in r.text
    async with database.session_scope() as s:
        orders = (await s.execute(select(func.count(Order.id)))).scalar()
        stock = (await s.execute(select(Product.stock).where(Product.id == product.id))).scalar()
    assert (orders, stock) == (0, 2)


async def test_order_page_needs_the_order_token(
    client: httpx.AsyncClient, database: Database, app: FastAPI
) -> None:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store, price_amount=1000, stock=2)
    slug = kit.store.slug
    await client.post(f"/s/{slug}/cart/add", data={"product_id": str(product.id), "quantity": "1"})
    r = await client.post(
        f"/s/{slug}/checkout",
        data={"email": "a@example.com", "name": "A", "line1": "1 Rue", "city": "Lux",
              "postal_code": "L-1", "country": "LU"},
    )  # fmt: skip
    assert r.status_code == 303
    pay_path = r.headers["location"]
    assert re.fullmatch(rf"/s/{slug}/orders/\d+/pay", pay_path)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "storeplex_order_" in cookie
    page = await client.get(pay_path)  # the cookie proves it
    assert page.status_code == 200 and 'id="payment-element"' in page.text
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        r = await other.get(pay_path)
        assert r.status_code == 404  # no token: the order does not exist for them
        r = await other.get(pay_path.removesuffix("/pay") + "?token=spo_wrong")
        assert r.status_code == 404


def test_stripe_js_comes_from_the_emulator_unless_keys_are_real(settings: Settings) -> None:
    assert stripe_js_url(settings) == f"{settings.resolved_stripe_api_base}/js/v3/"
    real = settings.model_copy(update={"stripe_api_base": "https://api.stripe.com"})
    assert stripe_js_url(real) == "https://js.stripe.com/v3/"


async def test_a_login_form_posted_from_elsewhere_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Login CSRF: without the form's own token (a cross-site post), nobody is logged in."""
    kit = await make_store_kit(database)
    for path in ("/admin/login", "/platform/login", f"/s/{kit.store.slug}/account/login"):
        client.cookies.clear()
        r = await client.post(path, data={"email": kit.owner_email, "password": PASSWORD})
        assert r.status_code == 403, (path, r.text[:200])
        set_cookie = r.headers.get("set-cookie", "")
        assert not any(n in set_cookie for n in ("_staff=", "_admin=", "_shopper=")), set_cookie
        forged = await client.post(
            path, data={"email": kit.owner_email, "password": PASSWORD, "csrf_token": "x" * 43}
        )
        assert forged.status_code == 403, path
