"""Shopper-side isolation: every storefront, checkout-payment and order-page route, called
with another store's ids, another shopper's credentials, none, and expired or forged ones,
answers only 401, 403 or 404, and changes nothing.

Routes are enumerated, not listed: the OpenAPI paths under /api/v1/storefront/{slug}/ plus
the shopper's payment routes (create-intent, confirm), and the storefront page routes that
take an order id (/s/{slug}/orders/{order_id}...). A new route is probed without editing
this file; if it needs a body to pass validation, add the field to `BODY`.

Credentials, per route family:
- orders (API, payment, pages): the order's access token (header, query or cookie);
- account and saved cards: the shopper's session cookie (+ CSRF token on unsafe calls);
- cart: the cart cookie. A cart cookie is a bearer credential for a cart of ONE store: at
  another store it names no cart, so the shopper gets a fresh, empty one (200, nothing of
  the other store shown), or 404 for a line of another store's product.
The matrix (route × credential → status counts) is printed; store B's rows and shopper
A2's order and cards are compared before and after.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from starlette.routing import Route

from storeplex.auth.secrets import token_digest
from storeplex.auth.sessions import COOKIE_NAMES
from storeplex.carts.service import CART_COOKIE
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import AuthSession, Customer, PaymentMethod, utcnow
from storeplex.web import storefront as storefront_pages
from storeplex.web.storefront import order_cookie_name
from tests.support.factories import make_product, make_store_kit
from tests.support.shop import checkout_body, make_order
from tests.support.tenants import snapshot_b

SESSION_COOKIE = COOKIE_NAMES["customer"]
PARAM = re.compile(r"\{([^}]+)\}")
DENIED = {401, 403, 404}
BODY: dict[str, Any] = {"product_id": 1, "quantity": 1, "order_id": 1}


@dataclass
class Shopper:
    cookie: str
    csrf: str
    customer_id: int
    card_id: int


@dataclass
class World:
    a_slug: str
    a_store_id: int
    b_slug: str
    b_store_id: int
    a_product: int
    b_product: int
    a1: tuple[int, str]  # (order id, access token)
    a2: tuple[int, str]
    b1: tuple[int, str]
    shopper_a: Shopper
    shopper_a2: Shopper
    shopper_b: Shopper
    b_cart_cookie: str
    expired_cookie: str


async def register(http: httpx.AsyncClient, database: Database, slug: str, n: str) -> Shopper:
    r = await http.post(
        f"/api/v1/storefront/{slug}/account/register",
        json={"email": f"shopper-{n}@iso.example", "password": "shopper password 1",
              "name": f"Shopper {n}"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    cookie = r.cookies[SESSION_COOKIE]
    async with database.session_scope() as s:
        customer = await s.get(Customer, body["id"])
        assert customer is not None
        card = PaymentMethod(
            store_id=customer.store_id, customer_id=customer.id,
            stripe_payment_method_id=f"pm_iso_{n}", payment_method_type="card",
            card_brand="visa", card_last4="4242", card_exp_month=12, card_exp_year=2040,
        )  # fmt: skip
        s.add(card)
        await s.flush()
    return Shopper(cookie, body["csrf_token"], body["id"], card.id)


async def build_world(client: httpx.AsyncClient, database: Database, settings: Settings) -> World:
    a = await make_store_kit(database, slug="iso-alpha", name="Iso Alpha")
    b = await make_store_kit(database, slug="iso-bravo-only", name="Iso Bravo Only")
    pa = await make_product(database, a.store, stock=100)
    pb = await make_product(database, b.store, stock=100, name="Bravo Only Lamp")
    a1 = await make_order(database, a.store, [(pa, 1)], email="a1@iso.example")
    a2 = await make_order(database, a.store, [(pa, 2)], email="a2-private@iso.example")
    b1 = await make_order(database, b.store, [(pb, 1)], email="b1-bravo-only@iso.example")
    transport = client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as h:
        shopper_a = await register(h, database, a.store.slug, "a")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as h:
        shopper_a2 = await register(h, database, a.store.slug, "a2-private")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as h:
        shopper_b = await register(h, database, b.store.slug, "b-bravo-only")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as h:
        r = await h.post(
            f"/api/v1/storefront/{b.store.slug}/cart/items",
            json={"product_id": pb.id, "quantity": 3},
        )
        assert r.status_code == 200, r.text
        b_cart_cookie = r.cookies[CART_COOKIE]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as h:
        r = await h.post(
            f"/api/v1/storefront/{a.store.slug}/account/login",
            json={"email": "shopper-a@iso.example", "password": "shopper password 1"},
        )
        assert r.status_code == 200, r.text
        expired = r.cookies[SESSION_COOKIE]
    async with database.session_scope() as s:
        await s.execute(
            update(AuthSession)
            .where(AuthSession.id_hash == token_digest(expired))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    return World(
        a.store.slug, a.store.id, b.store.slug, b.store.id, pa.id, pb.id,
        (a1.order.id, a1.access_token), (a2.order.id, a2.access_token),
        (b1.order.id, b1.access_token), shopper_a, shopper_a2, shopper_b, b_cart_cookie,
        expired,
    )  # fmt: skip


def shopper_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path): storefront API, the shopper's payment routes, order pages."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/storefront/{slug}/") or path.endswith(
            ("/payments/create-intent", "/payments/confirm")
        ):
            out += [
                (m.upper(), path) for m in operations if m in ("get", "post", "patch", "delete")
            ]
    for route in storefront_pages.router.routes:
        if isinstance(route, Route) and "{order_id}" in route.path:
            out += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return sorted(set(out))


def family(path: str) -> str:
    if "/account" in path:
        return "account"
    if "/cart" in path or path.endswith("/checkout"):
        return "cart"
    if "{order_id}" in path or "/payments/" in path:
        return "order"
    return "catalog"


@dataclass
class Probe:
    cred: str
    url: str
    headers: dict[str, str]
    cookies: dict[str, str]
    body: Any
    params: dict[str, str]


def body_fields(app: Any, method: str, path: str) -> set[str] | None:
    """The JSON body's property names per the OpenAPI schema (None: the route takes none)."""
    operation = app.openapi()["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    if "$ref" in schema:
        schema = app.openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def probes(method: str, path: str, w: World, fields: set[str] | None) -> list[Probe]:
    """Every wrong-credential call that applies to this route."""
    kind = family(path)
    values = {**BODY, "product_id": w.b_product}
    body = None if fields is None else {k: v for k, v in values.items() if k in fields}

    def url(slug: str, store_id: int, order_id: int, product: int, pm: int) -> str:
        values = {"slug": slug, "store_id": str(store_id), "order_id": str(order_id),
                  "product_id": str(product), "pm_id": str(pm)}  # fmt: skip
        return PARAM.sub(lambda m: values[m.group(1)], path)

    out: list[Probe] = []
    a_id, _ = w.a1
    if kind == "order":
        b_id, b_token = w.b1
        _, a2_token = w.a2
        order_body = lambda oid: {**(body or {}), "order_id": oid}  # noqa: E731

        def with_token(cred: str, order_id: int, token: str | None) -> Probe:
            headers = {"X-Order-Token": token} if token and "/payments/" in path else {}
            params = {"token": token} if token and path.startswith("/s/") else {}
            if token and path.startswith("/api/v1/storefront"):
                headers["X-Order-Token"] = token
                params = {"token": token}
            b = order_body(order_id) if body is not None else None
            return Probe(cred, url(w.a_slug, w.a_store_id, order_id, w.a_product, 1), headers,
                         {}, b, params)  # fmt: skip

        out.append(with_token("other store's order+token", b_id, b_token))
        out.append(with_token("other shopper's token", a_id, a2_token))
        out.append(with_token("none", a_id, None))
        out.append(with_token("forged token", a_id, "spo_forged-token-0000"))
        if path.startswith("/s/"):  # the order cookie of another order, on this order's path
            p = with_token("other order's cookie", a_id, None)
            p.cookies = {order_cookie_name(a_id): a2_token}
            out.append(p)
    elif kind == "account":
        pm = w.shopper_a2.card_id
        target = url(w.a_slug, w.a_store_id, a_id, w.a_product, pm)
        csrf = {"X-CSRF-Token": w.shopper_a.csrf}
        if "{pm_id}" in path:
            out.append(Probe("other shopper's card", target, csrf,
                             {SESSION_COOKIE: w.shopper_a.cookie}, body, {}))  # fmt: skip
            out.append(Probe("other store's card", url(w.a_slug, 0, 0, 0, w.shopper_b.card_id),
                             csrf, {SESSION_COOKIE: w.shopper_a.cookie}, body, {}))  # fmt: skip
        # Routes anyone may call (no session): nothing to isolate.
        public = ("/register", "/login", "/claim", "/password-reset", "/password-reset/complete")
        if not path.endswith(public):
            out.append(Probe("other store's session", target, {"X-CSRF-Token": w.shopper_b.csrf},
                             {SESSION_COOKIE: w.shopper_b.cookie}, body, {}))  # fmt: skip
            out.append(Probe("none", target, {}, {}, body, {}))
            out.append(Probe("expired session", target, csrf,
                             {SESSION_COOKIE: w.expired_cookie}, body, {}))  # fmt: skip
    elif kind == "cart":
        target = url(w.a_slug, w.a_store_id, a_id, w.b_product, 1)
        cart_body = checkout_body() if path.endswith("/checkout") else body
        out.append(Probe("other store's cart cookie", target, {},
                         {CART_COOKIE: w.b_cart_cookie}, cart_body, {}))  # fmt: skip
    return out


def judge(kind: str, method: str, path: str, r: httpx.Response, markers: list[str]) -> str | None:
    leaked = [m for m in markers if m in r.text]
    if leaked:
        return f"shows another's data {leaked}"
    if r.status_code in DENIED:
        return None
    if kind == "cart":
        # No cart of this store under that cookie: a fresh cart, empty, or nothing to check out.
        if r.status_code == 200 and method == "GET" and r.json().get("item_count") == 0:
            return None
        if path.endswith("/checkout") and r.status_code in (400, 409):
            return None
    return f"answered {r.status_code}"


async def test_shopper_routes_refuse_other_shoppers_and_stores(
    app: Any, client: httpx.AsyncClient, database: Database, settings: Settings, figures: Any
) -> None:
    w = await build_world(client, database, settings)
    routes = shopper_routes(app)
    assert len(routes) >= 15, routes
    assert any(p.startswith("/s/") for _, p in routes), "order pages were not enumerated"
    before_b = await snapshot_b(database, w.b_store_id)
    before_a = await snapshot_b(database, w.a_store_id)
    markers = ["bravo-only", "Bravo Only", "a2-private", w.b1[1], w.a2[1]]
    matrix: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    per_cred: dict[str, Counter[int]] = defaultdict(Counter)
    problems: list[str] = []
    for method, path in routes:
        for p in probes(method, path, w, body_fields(app, method, path)):
            async with httpx.AsyncClient(
                transport=client._transport, base_url="http://testserver", cookies=p.cookies
            ) as http:
                r = await http.request(
                    method, p.url, headers=p.headers, params=p.params,
                    json=p.body if p.body is not None else None,
                )  # fmt: skip
            matrix[(f"{method} {path}", p.cred)][r.status_code] += 1
            per_cred[p.cred][r.status_code] += 1
            if (verdict := judge(family(path), method, path, r, markers)) is not None:
                problems.append(f"{method} {p.url} [{p.cred}] {verdict}: {r.text[:200]}")
    after_b = await snapshot_b(database, w.b_store_id)
    after_a = await snapshot_b(database, w.a_store_id)
    for name, before, after in (("B", before_b, after_b), ("A", before_a, after_a)):
        for table, rows in before.items():
            if after.get(table) != rows:
                problems.append(f"store {name}'s rows in {table} changed")

    lines = [f"{label:<64} {cred:<28} {dict(c)}" for (label, cred), c in sorted(matrix.items())]
    print("\nshopper isolation matrix (route x credential -> status counts)\n" + "\n".join(lines))
    calls = sum(sum(c.values()) for c in matrix.values())
    statuses = Counter[int]()
    for c in per_cred.values():
        statuses.update(c)
    figures(
        f"isolation: routes={len(routes)} calls={calls} credentials={len(per_cred)} "
        f"statuses={dict(sorted(statuses.items()))} "
        f"by_credential={ {k: dict(v) for k, v in sorted(per_cred.items())} } "
        f"problems={len(problems)}"
    )
    assert not problems, "\n".join(problems)

    # Positive control: the right credentials open the same routes, so the refusals above
    # come from isolation, not from ids that do not exist.
    a_id, a_token = w.a1
    r = await client.get(f"/api/v1/storefront/{w.a_slug}/orders/{a_id}",
                         headers={"X-Order-Token": a_token}, params={"token": a_token})  # fmt: skip
    assert r.status_code == 200, r.text
    r = await client.get(f"/s/{w.a_slug}/orders/{a_id}", params={"token": a_token})
    assert r.status_code == 200, r.text
    client.cookies.set(SESSION_COOKIE, w.shopper_a2.cookie)
    r = await client.get(f"/api/v1/storefront/{w.a_slug}/account/payment-methods")
    assert r.status_code == 200 and "4242" in r.text, r.text
