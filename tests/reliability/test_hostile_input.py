"""Hostile input: schemathesis over every operation of the app's OpenAPI schema, and garbage
to both webhook endpoints.

Fuzzing: every operation, positive and negative cases (a few thousand in total), sent to a
live app (uvicorn in a thread, its own event loop and database engine) with real
credentials, so the fuzzer reaches the handlers and not only the auth check: a store token
on /api/v1/store/*, a platform token on /api/v1/platform/*, an order's token in
X-Order-Token, a shopper's session and CSRF token on /account routes; half of the cases get
real ids in their path (the store's slug, a product, an order) instead of random ones.
Failures: any 5xx (except 503 with a JSON error: the test app has no Stripe, and "payment
provider unavailable" is the documented answer), and any response that breaks the
documented schema. Derandomized: the same seed generates the same cases.

Webhooks: hypothesis-generated bodies and Stripe-Signature headers, truncated or altered
copies of correctly signed events, and wrong content types → 400, and nothing stored
(except a correctly signed body that is not JSON: kept as a rejected row to inspect).
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import response_schema_conformance
from schemathesis.generation import GenerationMode
from sqlalchemy import create_engine, select, update

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import ApiToken, Store, StoreStatus, StripeEvent
from tests.support.chaos import chaos_seed, env_int
from tests.support.factories import make_admin, make_product, make_store_kit, make_token
from tests.support.processes import free_port
from tests.support.settings import make_settings
from tests.support.shop import make_order
from tests.support.stack import ThreadServer, signature_header

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "whsec_hostile_platform_secret"
CONNECT_SECRET = "whsec_hostile_connect_secret"
WEBHOOKS = {
    "/api/v1/webhooks/stripe": WEBHOOK_SECRET,
    "/api/v1/webhooks/stripe/connect": CONNECT_SECRET,
}


@dataclass
class Credentials:
    store_token: str
    platform_token: str
    order_token: str
    customer_cookie: str
    customer_csrf: str
    real_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    operations: int = 0
    per_operation: defaultdict[str, Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the fuzzer runs once, on SQLite (the handlers are the same code)")


def fuzz_settings(db_url: str, data_dir: Path) -> Settings:
    return make_settings(
        db_url, data_dir, stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret=CONNECT_SECRET,
    )  # fmt: skip


async def make_credentials(database: Database, url: str) -> Credentials:
    kit = await make_store_kit(database)
    spare_store = await make_store_kit(database)
    product = await make_product(database, kit.store, stock=1_000_000)
    made = await make_order(database, kit.store, [(product, 1)])
    await make_admin(database)
    platform_token = await make_token(database)
    await make_token(database)  # spare tokens: the fuzzer may revoke those, not ours
    await make_token(database, store=kit.store)
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post(
            f"/api/v1/storefront/{kit.store.slug}/account/register",
            json={"email": "fuzz@shopper.example", "password": "fuzzing password 1", "name": "F"},
        )
        assert r.status_code in (200, 201), r.text
        cookie = r.headers["set-cookie"].split(";", 1)[0]
        csrf = r.json().get("csrf_token", "")
    return Credentials(
        store_token=kit.token,
        platform_token=platform_token,
        order_token=made.access_token,
        customer_cookie=cookie,
        customer_csrf=csrf,
        real_ids={
            "slug": kit.store.slug,
            "store_id": str(spare_store.store.id),  # platform calls may suspend it
            "product_id": str(product.id),
            "order_id": str(made.order.id),
        },
    )


def prepare(case: Any, creds: Credentials) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies for the case; sometimes real ids in its path."""
    path = case.operation.path
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if path.startswith(("/api/v1/store", "/api/v1/auth")):
        headers["Authorization"] = f"Bearer {creds.store_token}"
    elif path.startswith("/api/v1/platform") and not path.endswith(("/create-intent", "/confirm")):
        headers["Authorization"] = f"Bearer {creds.platform_token}"
    if "/account" in path:
        name, value = creds.customer_cookie.split("=", 1)
        cookies[name] = value
        headers["X-CSRF-Token"] = creds.customer_csrf
    if "/payments/create-intent" in path or "/payments/confirm" in path:
        headers["X-Order-Token"] = creds.order_token
    if case.path_parameters:
        fingerprint = zlib.crc32(json.dumps(case.path_parameters, default=str).encode())
        if fingerprint % 2 == 0:
            for name in case.path_parameters:
                if name in creds.real_ids:
                    case.path_parameters[name] = creds.real_ids[name]
    for name, value in (case.headers or {}).items():
        headers.setdefault(name, value)
    return headers, cookies


def judge(case: Any, response: Any, tally: Tally) -> None:
    status = response.status_code
    tally.cases += 1
    tally.statuses[status] += 1
    tally.per_operation[f"{case.method} {case.operation.path}"][status] += 1
    label = f"{case.method} {case.operation.path}"
    if status >= 500:
        try:
            body = response.json()
        except ValueError:
            body = None
        documented = (
            status == 503 and isinstance(body, dict) and body.get("error", {}).get("message")
        )
        if not documented:
            tally.failures.append(f"{label} -> {status}: {response.text[:300]}\n  {case!r}")
            return
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except Exception as exc:  # schemathesis raises a group of failures
        tally.failures.append(f"{label} -> {status} breaks the schema: {str(exc)[:400]}")


def restore_access(db_url: str) -> Any:
    """A function that undoes what a fuzzed call may do to our own credentials (revoke the
    token, suspend the store), so every case is sent with working ones."""
    engine = create_engine(db_url.replace("+aiosqlite", ""))

    def restore() -> None:
        with engine.begin() as conn:
            conn.execute(update(ApiToken).values(revoked_at=None))
            conn.execute(update(Store).values(status=StoreStatus.ACTIVE))

    return restore


def fuzz(
    schema: Any, base_url: str, creds: Credentials, seed: int, examples: int, db_url: str
) -> Tally:
    """Every operation, positive and negative cases, `examples` of each per operation."""
    tally = Tally()
    restore = restore_access(db_url)
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @hypothesis_seed(seed)
            @hsettings(max_examples=examples, deadline=None, database=None,
                       derandomize=True, suppress_health_check=list(HealthCheck),
                       phases=["generate"])  # fmt: skip
            @given(strategy)
            def run(case: Any) -> None:
                restore()
                headers, cookies = prepare(case, creds)
                session.cookies.clear()
                response = case.call(
                    base_url=base_url,
                    session=session,
                    headers=headers,
                    cookies=cookies,
                    timeout=30,
                )
                judge(case, response, tally)

            try:
                run()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, or only a free-form body)
            except Exception as exc:  # an unsatisfiable schema must not stop the others
                tally.failures.append(f"{operation.label} ({mode.value}): could not fuzz: {exc}")
    session.close()
    return tally


async def test_fuzzing_every_operation_finds_no_server_error(
    db_url: str, database: Database, tmp_path: Path, sqlite_only: None, figures: Any
) -> None:
    seed = chaos_seed()
    examples = env_int("STOREPLEX_FUZZ_EXAMPLES", 25)
    started = time.monotonic()
    settings = fuzz_settings(db_url, tmp_path)
    port = free_port()
    with ThreadServer(create_app(settings, check_schema=False), port) as server:
        creds = await make_credentials(database, server.url)
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        tally = await asyncio.to_thread(fuzz, schema, server.url, creds, seed, examples, db_url)
    server_errors = sum(n for s, n in tally.statuses.items() if s >= 500 and s != 503)
    figures(
        f"fuzz: seed={seed} operations={tally.operations} cases={tally.cases} "
        f"server_errors={server_errors} provider_unavailable_503={tally.statuses[503]} "
        f"failures={len(tally.failures)} statuses={dict(sorted(tally.statuses.items()))} "
        f"seconds={time.monotonic() - started:.0f}"
    )
    assert tally.operations >= 50, "the schema seems to be missing operations"
    locked_out = [op for op, seen in tally.per_operation.items() if set(seen) <= {401, 403}]
    assert not locked_out, f"the fuzzer never got past authentication on: {locked_out}"
    assert tally.cases >= 2000 or examples < 25, tally.cases
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures[:30])


# -- webhook garbage ---------------------------------------------------------------------------


def real_event(n: int) -> dict[str, Any]:
    return {
        "id": f"evt_hostile_{n}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": f"pi_hostile_{n}", "object": "payment_intent",
                            "status": "succeeded", "amount": 1000, "metadata": {}}},
    }  # fmt: skip


def json_headers(signature: str) -> dict[str, str]:
    return {"Stripe-Signature": signature, "Content-Type": "application/json"}


def garbage_cases(seed: int, n: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """(kind, body, headers): random bytes and headers, damaged signed events, wrong types."""
    out: list[tuple[str, bytes, dict[str, str]]] = []
    headers_st = st.dictionaries(
        st.sampled_from(["Stripe-Signature", "Content-Type", "Content-Encoding", "X-Junk"]),
        st.text(max_size=80).map(lambda s: s.encode("utf-8", "ignore").decode("latin-1")),
        max_size=3,
    )
    body_st = st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode))
    signature_st = st.one_of(
        st.text(max_size=120),
        st.builds(lambda t, v: f"t={t},v1={v}", st.integers(-(2**63), 2**63), st.text(max_size=70)),
        st.just(""), st.just("t=,v1="), st.just("v1=" + "0" * 64),
    )  # fmt: skip

    @hypothesis_seed(seed)
    @hsettings(max_examples=n, database=None, derandomize=True, deadline=None,
               suppress_health_check=list(HealthCheck), phases=["generate"])  # fmt: skip
    @given(body_st, headers_st, signature_st)
    def collect(body: bytes, headers: dict[str, str], signature: str) -> None:
        out.append(("random bytes and headers", body, headers))
        safe = signature.encode("latin-1", "ignore").decode("latin-1").replace("\n", "")
        out.append(("garbage signature", json.dumps(real_event(len(out))).encode(),
                    {"Stripe-Signature": safe, "Content-Type": "application/json"}))  # fmt: skip

    collect()
    for i, secret in enumerate([WEBHOOK_SECRET, CONNECT_SECRET, "whsec_someone_else"]):
        payload = json.dumps(real_event(10_000 + i))
        good = signature_header(payload, secret)
        for cut in (0, 1, len(payload) // 2, len(payload) - 1):
            cut_body = payload[:cut].encode()
            out.append(("truncated signed event", cut_body, json_headers(good)))
        other = payload.replace("1000", "1").encode()
        out.append(("signature of another body", other, json_headers(good)))
        out.append(("stale signature", payload.encode(), {
            "Stripe-Signature": signature_header(payload, secret, int(time.time()) - 3600),
            "Content-Type": "application/json"}))  # fmt: skip
        out.append(("future signature", payload.encode(), {
            "Stripe-Signature": signature_header(payload, secret, int(time.time()) + 3600),
            "Content-Type": "application/json"}))  # fmt: skip
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            out.append(("wrong content type, no signature", payload.encode(),
                        {"Content-Type": ctype}))  # fmt: skip
        out.append(("no signature header", payload.encode(), {"Content-Type": "application/json"}))
        out.append(("signed, not JSON", b"{not json", {
            "Stripe-Signature": signature_header("{not json", secret),
            "Content-Type": "application/json"}))  # fmt: skip
    return out


async def test_webhook_garbage_answers_400_and_stores_nothing(
    app: Any, database: Database, db_url: str, tmp_path: Path, figures: Any
) -> None:
    seed = chaos_seed()
    cases = garbage_cases(seed, env_int("STOREPLEX_WEBHOOK_GARBAGE", 300))
    garbage_app = create_app(fuzz_settings(db_url, tmp_path), database=database)
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    problems: list[str] = []
    transport = httpx.ASGITransport(app=garbage_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for kind, body, headers in cases:
            for path in WEBHOOKS:
                raw = {k: v.encode("latin-1", "ignore") for k, v in headers.items()}
                r = await http.post(path, content=body, headers=raw)
                statuses[r.status_code] += 1
                kinds[kind] += 1
                if r.status_code != 400 or not r.headers["content-type"].startswith(
                    "application/json"
                ):
                    problems.append(f"{kind} to {path} -> {r.status_code}: {r.text[:200]}")
        # Positive control: a correctly signed event IS accepted, so the 400s mean something.
        payload = json.dumps(real_event(99_999))
        r = await http.post(
            "/api/v1/webhooks/stripe", content=payload,
            headers={"Stripe-Signature": signature_header(payload, WEBHOOK_SECRET),
                     "Content-Type": "application/json"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
    async with database.session_scope() as s:
        rows = list((await s.execute(select(StripeEvent))).scalars())
    garbage = [
        (r.type, r.status, r.endpoint) for r in rows if r.stripe_event_id != "evt_hostile_99999"
    ]
    figures(
        f"webhook garbage: seed={seed} requests={sum(statuses.values())} "
        f"statuses={dict(statuses)} kinds={dict(kinds)} stored={len(garbage)} "
        f"problems={len(problems)}"
    )
    assert not problems, "\n".join(problems[:20])
    # Only the correctly signed non-JSON body is kept (once per endpoint, as rejected, for
    # the admin to read); nothing whose signature fails is stored.
    assert sorted(garbage) == [
        ("malformed", "rejected", "connect"),
        ("malformed", "rejected", "platform"),
    ], garbage
