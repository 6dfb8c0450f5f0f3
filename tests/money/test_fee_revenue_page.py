"""The operator's fee revenue: a date range (a reversed one is a message in the form), a
totals row, Stripe's dispute fee as Stripe charged it, and the same figures as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import httpx

from storeplex.db import Database
from storeplex.models import utcnow
from tests.support.factories import log_in_admin_pages, make_admin
from tests.support.flows import dispute_rows, onboarded_store, paid_order, payment_of
from tests.support.stack import Stack


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


async def test_fee_revenue_with_range_totals_dispute_fees_and_csv(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    plain = await paid_order(database, stack, http, kit, price=4000)
    disputed = await paid_order(
        database, stack, http, kit, price=2000, card="pm_card_createDispute"
    )
    fees = [(await payment_of(database, o["id"])).amount_platform_fee for o in (plain, disputed)]
    [dispute] = await dispute_rows(database, disputed["id"])
    # What Stripe charged the platform for the dispute, read from Stripe's balance transaction.
    at_stripe = stack.stripe.v1.disputes.retrieve(dispute.stripe_dispute_id)
    stripe_fee = sum(t.fee for t in at_stripe.balance_transactions)
    assert stripe_fee == 1500  # 15.00 EUR

    admin = await make_admin(database)
    await log_in_admin_pages(http, admin.email)
    page = await http.get("/platform/revenue")
    assert page.status_code == 200
    totals = page.text[page.text.index('id="totals">') + 12 :]
    totals = _text(totals[: totals.index("</tr>")])
    net = fees[0] + fees[1] - stripe_fee
    assert totals.split() == [
        "Total", "2", "60.00", "EUR", f"{(fees[0] + fees[1]) / 100:.2f}", "EUR", "0.00", "EUR",
        "1", "−15.00", "EUR", f"{'-' if net < 0 else ''}{abs(net) / 100:.2f}", "EUR",
    ], totals  # fmt: skip

    # A reversed range: the message is in the form, and the page still works.
    today = utcnow().date()
    reversed_ = await http.get(
        f"/platform/revenue?from={today.isoformat()}&to={(today - timedelta(days=3)).isoformat()}"
    )
    assert reversed_.status_code == 400
    assert 'id="form-error"' in reversed_.text and "is after the end date" in reversed_.text
    assert 'id="revenue"' in reversed_.text and "Something went wrong" not in reversed_.text
    bad = await http.get("/platform/revenue?from=yesterday")
    assert bad.status_code == 400 and "must look like" in bad.text

    # A range before the sales: nothing counted.
    empty = await http.get("/platform/revenue?from=2020-01-01&to=2020-01-31")
    totals = empty.text[empty.text.index('id="totals">') + 12 :]
    assert _text(totals[: totals.index("</tr>")]).split()[:2] == ["Total", "0"]

    # The CSV holds the same figures, with a totals line.
    r = await http.get(f"/platform/revenue.csv?from={today.isoformat()}&to={today.isoformat()}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["store"] for row in rows] == [kit.store.name, "Total"]
    for row in rows:
        assert (row["payments"], row["sales"], row["disputes_opened"], row["dispute_fees"]) == (
            "2", "60.00", "1", "15.00",
        )  # fmt: skip
        assert row["net_revenue"] == f"{net / 100:.2f}"
    reversed_csv = await http.get("/platform/revenue.csv?from=2026-02-01&to=2026-01-01")
    assert reversed_csv.status_code == 400 and "is after the end date" in reversed_csv.text
