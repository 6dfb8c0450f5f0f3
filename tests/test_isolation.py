"""Tenant isolation: store A's credentials can never see or touch store B's data.

The test walks EVERY store-admin route of the app (read from the OpenAPI
schema, so endpoints added later are covered without editing this file). For
each method and path it puts B's real ids into the `{..._id}` path parameters
(and into `..._id` fields of the body and query), calls it with A's API token
and, separately, with A's staff cookie and CSRF token, and expects 404 — a row
of another store is indistinguishable from a missing one. Routes without ids
act on A's own store; their answers must not mention B. Afterwards every row
that belongs to B is re-read and must be unchanged. Without credentials, or with
an expired token, every store route answers 401.

If a new route makes this test fail with 422, its body needs a plausible value:
add the field to PLAUSIBLE below.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import ApiToken, Base, Payment, utcnow
from tests.support.factories import (
    PASSWORD,
    StoreKit,
    bearer,
    login_staff,
    make_product,
    make_staff,
    make_store_kit,
    make_token,
)
from tests.support.shop import make_order
from tests.support.tenants import snapshot_b, tables_with_store

STORE_PREFIX = "/api/v1/store"
UNKNOWN_ID = 987_654_321
PARAM = re.compile(r"\{([^}]+)\}")

# Values for body fields that need a particular shape to pass validation.
PLAUSIBLE: dict[str, Any] = {
    "sku": "ISO-SKU",
    "name": "Isolation probe",
    "description": "probe",
    "price": "1.00",
    "amount": "1.00",
    "stock": 1,
    "stock_delta": 1,
    "quantity": 1,
    "email": "probe@isolation.example",
    "password": "probe password 123",
    "country": "LU",
    "currency": "EUR",
    "reason": "requested_by_customer",
    "expires_in_days": 30,
}

# Which table a path parameter points into, when its name does not say it plainly.
PARAM_TABLES = {"token_id": "api_tokens", "staff_id": "staff_users", "staff_user_id": "staff_users"}


@dataclass
class Tenants:
    a: StoreKit
    b: StoreKit
    a_csrf: str
    b_ids: dict[str, int]  # table name -> one of B's row ids
    b_markers: list[str]  # strings that only B's data contains


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation: dict[str, Any]

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)


def store_routes(app: Any) -> list[Route]:
    """Every method+path of the store-admin API, from the app's OpenAPI schema."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        if path != STORE_PREFIX and not path.startswith(STORE_PREFIX + "/"):
            continue
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                routes.append(Route(method.upper(), path, operation))
    return sorted(routes, key=lambda r: (r.path, r.method))


def _table_for(name: str) -> str:
    if name in PARAM_TABLES:
        return PARAM_TABLES[name]
    base = name.removesuffix("_id")
    return base if base.endswith("s") else base + "s"


def b_id_for(name: str, tenants: Tenants) -> int:
    """B's id of the kind this parameter names, or a number no row has."""
    return tenants.b_ids.get(_table_for(name), UNKNOWN_ID)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if options:
            return _resolve(options[0], components)
    return schema


def plausible_value(
    name: str, schema: dict[str, Any], components: dict[str, Any], tenants: Tenants
) -> Any:
    schema = _resolve(schema, components)
    if name.endswith("_id") or name == "id":
        return b_id_for(name, tenants)
    if name in PLAUSIBLE:
        return PLAUSIBLE[name]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return plausible_object(schema, components, tenants)
    if kind == "array":
        item = plausible_value(name, schema.get("items", {}), components, tenants)
        return [item]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "email":
        return PLAUSIBLE["email"]
    return "probe"


def plausible_object(
    schema: dict[str, Any], components: dict[str, Any], tenants: Tenants
) -> dict[str, Any]:
    schema = _resolve(schema, components)
    required = set(schema.get("required", []))
    body = {}
    for name, prop in schema.get("properties", {}).items():
        if name in required or name.endswith("_id"):
            body[name] = plausible_value(name, prop, components, tenants)
    return body


def build_request(
    route: Route, app: Any, tenants: Tenants
) -> tuple[str, dict[str, Any], Any, bool]:
    """(url, query, json body, whether B's ids appear anywhere in the request)."""
    openapi = app.openapi()
    components = openapi.get("components", {}).get("schemas", {})
    url = route.path
    names_b = bool(route.params)
    for name in route.params:
        url = url.replace("{" + name + "}", str(b_id_for(name, tenants)))
    query = {}
    for param in route.operation.get("parameters", []):
        if param["in"] == "query" and param["name"].endswith("_id"):
            query[param["name"]] = b_id_for(param["name"], tenants)
            names_b = True
    body = None
    content = route.operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = plausible_value("body", content["application/json"]["schema"], components, tenants)
        if isinstance(body, dict) and any(k.endswith("_id") for k in body):
            names_b = True
    return url, query, body, names_b


async def b_ids(database: Database, store_id: int) -> dict[str, int]:
    """One of B's row ids per table that has rows of B (first by id)."""
    ids: dict[str, int] = {"stores": store_id}
    async with database.session_scope() as s:
        for table in tables_with_store(Base.metadata):
            if "id" not in table.c:
                continue
            first = (
                await s.execute(
                    select(table.c.id)
                    .where(table.c.store_id == store_id)
                    .order_by(table.c.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if first is not None:
                ids[table.name] = first
        order_items = Base.metadata.tables["order_items"]
        if "orders" in ids:
            item = (
                await s.execute(
                    select(order_items.c.id).where(order_items.c.order_id == ids["orders"])
                )
            ).scalar_one_or_none()
            if item is not None:
                ids["order_items"] = item
                ids["items"] = item
    return ids


@pytest.fixture
async def tenants(client: httpx.AsyncClient, database: Database) -> Tenants:
    a = await make_store_kit(database, slug="alpha-store", name="Alpha")
    b = await make_store_kit(
        database, slug="bravo-only-store", name="Bravo Only", business_email="b@bravo-only.example"
    )
    await make_product(database, a.store, sku="A-PRODUCT")
    b_product = await make_product(database, b.store, sku="BRAVO-ONLY-SKU", name="Bravo Only Mug")
    await make_product(database, b.store, sku="BRAVO-ONLY-SKU-2", is_active=False)
    await make_staff(database, b.store, role="staff", email="clerk@bravo-only.example")
    made = await make_order(database, b.store, [(b_product, 2)], email="buyer@bravo-only.example")
    async with database.session_scope() as s:
        total = made.order.total_amount_cents
        s.add(
            Payment(
                store_id=b.store.id, order_id=made.order.id, customer_id=made.order.customer_id,
                stripe_payment_intent_id="pi_BRAVO-ONLY-1", stripe_account_id="acct_BRAVO-ONLY",
                amount_total=total, amount_platform_fee=10, amount_store=total - 10,
                currency=b.store.currency, status="succeeded",
            )
        )  # fmt: skip
    a_csrf = await login_staff(client, a.owner_email)
    return Tenants(
        a=a,
        b=b,
        a_csrf=a_csrf,
        b_ids=await b_ids(database, b.store.id),
        b_markers=["bravo-only", "BRAVO-ONLY", b.owner_email, b.token[:12]],
    )


def _fresh(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def test_store_a_cannot_reach_store_b(
    app: Any, client: httpx.AsyncClient, database: Database, tenants: Tenants
) -> None:
    routes = store_routes(app)
    assert len(routes) >= 10, "the store API seems to be missing routes"
    assert any(r.params for r in routes)
    before = await snapshot_b(database, tenants.b.store.id)
    assert before["products"] and before["orders"] and before["api_tokens"]

    matrix: list[tuple[str, str, int]] = []
    problems: list[str] = []
    async with _fresh(client) as token_client:
        for route in routes:
            url, query, body, names_b = build_request(route, app, tenants)
            for cred, http, headers in (
                ("token", token_client, bearer(tenants.a.token)),
                ("cookie", client, {"X-CSRF-Token": tenants.a_csrf}),
            ):
                r = await http.request(route.method, url, params=query, json=body, headers=headers)
                label = f"{route.method} {route.path}"
                matrix.append((label, cred, r.status_code))
                if names_b and r.status_code != 404:
                    problems.append(f"{label} [{cred}] with B's ids -> {r.status_code}: {r.text}")
                if not names_b and (r.status_code == 500 or r.status_code in (401, 422)):
                    problems.append(
                        f"{label} [{cred}] on A's own store -> {r.status_code}: {r.text}"
                    )
                leaked = [m for m in tenants.b_markers if m in r.text]
                if leaked:
                    problems.append(f"{label} [{cred}] shows B's data {leaked}: {r.text[:300]}")

    after = await snapshot_b(database, tenants.b.store.id)
    for table, rows in before.items():
        if after.get(table) != rows:
            problems.append(
                f"B's rows in {table} changed:\n  before {rows}\n  after  {after[table]}"
            )

    # Positive control (after the snapshot: it touches B's token): B's own token reads
    # the same ids, so A's 404s come from isolation and not from ids that do not exist.
    async with _fresh(client) as b_client:
        for route in routes:
            if route.method != "GET" or not route.params:
                continue
            url, query, body, _ = build_request(route, app, tenants)
            r = await b_client.get(url, params=query, headers=bearer(tenants.b.token))
            if r.status_code != 200:
                problems.append(f"control: B's own GET {url} -> {r.status_code}: {r.text}")

    counts = Counter(status for _, _, status in matrix)
    lines = [f"{label:<58} {cred:<6} {status}" for label, cred, status in matrix]
    report = "\n".join(
        [
            f"isolation matrix: {len(routes)} routes x 2 credentials",
            *lines,
            f"status counts: {dict(counts)}",
        ]
    )
    print("\n" + report)
    assert not problems, "\n".join(problems) + "\n\n" + report


async def test_every_store_route_needs_credentials(
    app: Any, client: httpx.AsyncClient, database: Database, tenants: Tenants
) -> None:
    expired = await make_token(
        database, store=tenants.a.store, expires_at=utcnow() - timedelta(minutes=1)
    )
    revoked = await make_token(database, store=tenants.a.store)
    async with database.session_scope() as s:
        row = (
            await s.execute(select(ApiToken).where(ApiToken.token_prefix == revoked[:12]))
        ).scalar_one()
        row.revoked_at = utcnow()
    problems = []
    seen = Counter[str]()
    async with _fresh(client) as anonymous:
        for route in store_routes(app):
            url, query, body, _ = build_request(route, app, tenants)
            for cred, headers in (
                ("none", {}),
                ("expired", bearer(expired)),
                ("revoked", bearer(revoked)),
                ("forged", bearer("spx_not-a-real-token")),
            ):
                r = await anonymous.request(
                    route.method, url, params=query, json=body, headers=headers
                )
                seen[cred] += 1
                if r.status_code != 401:
                    problems.append(f"{route.method} {route.path} [{cred}] -> {r.status_code}")
    print(f"\nunauthenticated calls per credential: {dict(seen)}")
    assert not problems, "\n".join(problems)


async def test_platform_routes_refuse_store_credentials(
    app: Any, client: httpx.AsyncClient, tenants: Tenants
) -> None:
    """A store owner's token or session never opens a platform endpoint."""
    problems = []
    paths = app.openapi()["paths"]
    async with _fresh(client) as token_client:
        for path, operations in paths.items():
            # Shopper-facing payment routes live under /platform too (the API's
            # create-intent); they are guarded by the order's access token instead.
            if not path.startswith("/api/v1/platform/") or "/payments/" in path:
                continue
            for method in operations:
                url = PARAM.sub(str(tenants.b.store.id), path)
                for cred, http, headers in (
                    ("token", token_client, bearer(tenants.a.token)),
                    ("cookie", client, {"X-CSRF-Token": tenants.a_csrf}),
                ):
                    r = await http.request(method.upper(), url, json={}, headers=headers)
                    if r.status_code not in (401, 403):
                        problems.append(f"{method.upper()} {path} [{cred}] -> {r.status_code}")
    assert not problems, "\n".join(problems)


# --- Pages: the store admin's and the platform admin's HTML routes ---------------------------

PAGE_FORM = {
    "status": "shipped", "amount": "1.00", "reason": "requested_by_customer", "note": "probe",
    "name": "Isolation probe", "sku": "ISO-PAGE", "price": "1.00", "stock": "1",
    "active": "0", "platform_fee_percentage": "0", "platform_fixed_fee": "0",
}  # fmt: skip


def page_routes(app: Any, prefix: str) -> list[tuple[str, str]]:
    """Every (method, path) of the HTML pages under `prefix` that names a row by id."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            path = getattr(ctx, "path_format", None) or getattr(ctx, "path", None)
            if not path or not path.startswith(prefix + "/") or "{" not in path:
                continue
            for method in getattr(ctx, "methods", None) or ():
                if method in ("GET", "POST"):
                    found.add((method, path))
    return sorted(found, key=lambda r: (r[1], r[0]))


def page_url(path: str, ids: dict[str, int]) -> str:
    for name in PARAM.findall(path):
        path = path.replace("{" + name + "}", str(ids.get(_table_for(name), UNKNOWN_ID)))
    return path


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(path)).text)
    assert match, path
    return match.group(1)


async def walk_pages_as_a(
    client: httpx.AsyncClient, database: Database, tenants: Tenants, routes: list[tuple[str, str]]
) -> tuple[list[tuple[str, str, httpx.Response]], list[str]]:
    """A's owner, signed in on the pages, sends every route with B's real ids (forms with a
    valid CSRF token); the answers, and which of B's tables changed meanwhile."""
    before = await snapshot_b(database, tenants.b.store.id)
    answers = []
    async with _fresh(client) as pages:
        csrf_login = await page_csrf(pages, "/admin/login")
        signed_in = await pages.post(
            "/admin/login",
            data={"email": tenants.a.owner_email, "password": PASSWORD, "csrf_token": csrf_login},
        )
        assert signed_in.status_code == 303, signed_in.text
        csrf = await page_csrf(pages, "/admin/products/new")
        for method, path in routes:
            data = {**PAGE_FORM, "csrf_token": csrf} if method == "POST" else None
            r = await pages.request(method, page_url(path, tenants.b_ids), data=data)
            answers.append((method, path, r))
    after = await snapshot_b(database, tenants.b.store.id)
    changed = [f"B's rows in {t} changed" for t, rows in before.items() if after.get(t) != rows]
    return answers, changed


async def test_store_a_pages_cannot_reach_store_b(
    app: Any, client: httpx.AsyncClient, database: Database, tenants: Tenants
) -> None:
    """A's staff, signed in on the pages, asks for every /admin page and form with B's real
    ids: each answer is what a missing row gets (404), shows nothing of B, changes nothing."""
    routes = page_routes(app, "/admin")
    assert {path for _, path in routes} >= {
        "/admin/orders/{order_id}", "/admin/payments/{payment_id}", "/admin/products/{product_id}",
    }  # fmt: skip
    answers, problems = await walk_pages_as_a(client, database, tenants, routes)
    for method, path, r in answers:
        if r.status_code != 404:
            problems.append(f"{method} {path} with B's ids -> {r.status_code}")
        leaked = [m for m in tenants.b_markers if m in r.text]
        if leaked:
            problems.append(f"{method} {path} shows B's data {leaked}")
    assert problems == [], "\n".join(problems)


async def test_store_staff_cannot_use_the_platform_pages(
    app: Any, client: httpx.AsyncClient, database: Database, tenants: Tenants
) -> None:
    """The platform pages act on any store: a store owner's page session opens none of them."""
    routes = page_routes(app, "/platform")
    assert routes, "the platform pages seem to be missing"
    answers, problems = await walk_pages_as_a(client, database, tenants, routes)
    for method, path, r in answers:
        refused = r.status_code in (401, 403, 404) or (
            r.status_code in (302, 303) and "/platform/login" in r.headers.get("location", "")
        )
        if not refused:
            problems.append(f"{method} {path} as a store owner -> {r.status_code}")
    assert problems == [], "\n".join(problems)
