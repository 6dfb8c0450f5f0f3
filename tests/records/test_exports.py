"""Orders and payments CSV: every row of the store (and only its rows), streamed in chunks."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import httpx

from storeplex.db import Database
from storeplex.reports.exports import BATCH
from tests.records.bulk import bulk_orders
from tests.support.factories import login_staff, make_store_kit

ROWS = BATCH * 2 + 345  # three keyset batches, the last one partial


async def download(http: httpx.AsyncClient, path: str, **params: str) -> tuple[list[dict], int]:
    """The parsed CSV and the number of body chunks that arrived (over a real socket)."""
    async with http.stream("GET", path, params=params) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        assert "content-length" not in r.headers, "streamed, not built in memory first"
        assert r.headers.get("transfer-encoding") == "chunked"
        chunks = [chunk async for chunk in r.aiter_raw()]
    text = b"".join(chunks).decode()
    return list(csv.DictReader(io.StringIO(text))), len(chunks)


async def test_orders_and_payments_csv_stream_every_row_of_the_store(
    database: Database, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    await bulk_orders(database, kit.store, ROWS, with_payments=True)
    other = await make_store_kit(database)
    await bulk_orders(database, other.store, 7, with_payments=True)
    await login_staff(http, kit.owner_email)

    orders, chunks = await download(http, "/admin/orders/export.csv")
    assert len(orders) == ROWS
    assert chunks >= 3, "one chunk per batch at least"
    assert [int(o["number"]) for o in orders] == list(range(ROWS, 0, -1)), "newest first, once"
    last = orders[0]
    assert (last["total_minor"], last["total"], last["currency"]) == (
        str(1000 + ROWS - 1), f"{(1000 + ROWS - 1) / 100:.2f}", "EUR",
    )  # fmt: skip
    assert {o["email"].split("@")[1] for o in orders} == {f"{kit.store.slug}.test"}

    payments, chunks = await download(http, "/admin/payments/export.csv")
    assert len(payments) == ROWS and chunks >= 3
    assert sum(int(p["amount_minor"]) for p in payments) == sum(1000 + i for i in range(ROWS))
    assert all(
        int(p["platform_fee_minor"]) + int(p["store_share_minor"]) == int(p["amount_minor"])
        for p in payments
    )

    only, _ = await download(http, "/admin/orders/export.csv", q="#17")
    assert [o["number"] for o in only] == ["17"]
    today = payments[0]["created_at"][:10]
    later = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    none, _ = await download(http, "/admin/payments/export.csv", **{"from": later})
    assert none == []
    same, _ = await download(http, "/admin/payments/export.csv", to=today, status="succeeded")
    assert len(same) == ROWS


async def test_a_shoppers_formula_is_defused_in_the_csv(
    database: Database, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    await bulk_orders(database, kit.store, 1, names=['=HYPERLINK("http://evil.test")'])
    await login_staff(http, kit.owner_email)
    [row], _ = await download(http, "/admin/orders/export.csv")
    assert row["name"] == '\'=HYPERLINK("http://evil.test")'
