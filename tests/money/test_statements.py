"""Statements and the platform fee report: every figure equals the sum of its rows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import httpx

from storeplex.db import Database
from tests.support.factories import bearer, make_store_kit, make_token
from tests.support.money import seed_money


def expected(facts: list[dict], start: date, end: date, key) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, int]] = {}

    def bucket(when: datetime) -> dict[str, int] | None:
        if not (start <= when.date() <= end):
            return None
        return out.setdefault(key(when), dict.fromkeys(
            ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes"), 0))  # fmt: skip

    for f in facts:
        if (b := bucket(f["paid_at"])) is not None:
            b["gross_sales"] += f["total"]
            b["platform_fees"] += f["fee"]
        if f["refund_at"] and (b := bucket(f["refund_at"])) is not None:
            b["refunds"] += f["refund"]
            b["fee_refunds"] += f["fee_back"]
        if f["lost"] and (b := bucket(f["closed_at"])) is not None:
            b["disputes"] += f["lost"]
    for b in out.values():
        b["net"] = (b["gross_sales"] - b["platform_fees"] - b["refunds"] + b["fee_refunds"]
                    - b["disputes"])  # fmt: skip
    return out


async def test_statement_figures_are_the_sums_of_their_rows(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    facts = await seed_money(database, kit)
    await seed_money(database, other, seed=99)  # must not leak into kit's statement
    start, end = date(2026, 3, 30), date(2026, 4, 3)

    r = await client.get(
        f"/api/v1/store/statements?period=day&from={start}&to={end}", headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    want = expected(facts, start, end, lambda d: d.date().isoformat())
    got = {row["period"]: row for row in body["data"]}
    assert sorted(got) == [(start + timedelta(days=n)).isoformat() for n in range(5)]
    for period, figures in want.items():
        for name, value in figures.items():
            assert got[period][name] == value, (period, name)
    for name in ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes", "net"):
        assert body["totals"][name] == sum(f[name] for f in want.values()), name
    assert body["totals"]["gross_sales"] > 0 and body["totals"]["refunds"] > 0
    assert body["totals"]["disputes"] > 0

    r = await client.get(
        f"/api/v1/store/statements?period=month&from={start}&to={end}", headers=bearer(kit.token)
    )
    months = {row["period"]: row for row in r.json()["data"]}
    want_m = expected(facts, start, end, lambda d: d.date().isoformat()[:7])
    assert sorted(months) == ["2026-03", "2026-04"]
    for period, figures in want_m.items():
        assert {k: months[period][k] for k in figures} == figures

    r = await client.get(
        f"/api/v1/store/statements?period=month&from={start}&to={end}&format=csv",
        headers=bearer(kit.token),
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["period"] for row in rows] == ["2026-03", "2026-04", "total"]
    assert rows[-1]["net"] == f"{sum(f['net'] for f in want_m.values()) / 100:.2f}"


async def test_platform_fee_report_per_store(database: Database, client: httpx.AsyncClient) -> None:
    a, b = await make_store_kit(database), await make_store_kit(database)
    facts_a = await seed_money(database, a, days=3, seed=1)
    facts_b = await seed_money(database, b, days=3, seed=2)
    token = await make_token(database)  # a platform token
    start, end = date(2026, 3, 1), date(2026, 4, 30)
    r = await client.get(f"/api/v1/platform/reports/fees?from={start}&to={end}",
                         headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    rows = {row["store_id"]: row for row in r.json()["data"]}
    for kit, facts in ((a, facts_a), (b, facts_b)):
        row = rows[kit.store.id]
        assert row["platform_fees"] == sum(f["fee"] for f in facts)
        assert row["fee_refunds"] == sum(f["fee_back"] for f in facts)
        assert row["net_fees"] == row["platform_fees"] - row["fee_refunds"]
    csv_r = await client.get(
        f"/api/v1/platform/reports/fees?from={start}&to={end}&format=csv", headers=bearer(token)
    )
    assert len(list(csv.DictReader(io.StringIO(csv_r.text)))) == 2
    # Store staff cannot read the platform's report.
    assert (
        await client.get("/api/v1/platform/reports/fees", headers=bearer(a.token))
    ).status_code == 403


async def test_bad_statement_queries_are_4xx(database: Database, client: httpx.AsyncClient) -> None:
    kit = await make_store_kit(database)
    h = bearer(kit.token)
    for query, status in [
        ("period=week", 422),
        ("from=2026-13-01", 422),
        ("from=yesterday", 422),
        ("from=2026-05-02&to=2026-05-01", 400),
        ("period=day&from=2020-01-01&to=2026-01-01", 400),
        ("format=xml", 422),
    ]:
        r = await client.get(f"/api/v1/store/statements?{query}", headers=h)
        assert r.status_code == status, (query, r.text)
        assert r.json()["error"]["message"]
    assert (await client.get("/api/v1/store/statements")).status_code == 401
    r = await client.get("/api/v1/store/statements", headers=h)
    assert r.status_code == 200 and len(r.json()["data"]) == 30


async def test_statement_csv_speaks_the_store_locale(
    database: Database, client: httpx.AsyncClient
) -> None:
    """Labels in the store's language; amounts as its spreadsheet reads numbers (decimal
    comma and ";" for fr_LU and de_DE, "." and "," for en_IE); an unlisted language falls
    back to English labels; each total still equals the sum of its rows."""
    start, end = date(2026, 3, 1), date(2026, 4, 30)
    seen: dict[str, list[dict[str, str]]] = {}
    for locale, delimiter, period, net in (
        ("fr_LU", ";", "Période", "Net"),
        ("de_DE", ";", "Zeitraum", "Netto"),
        ("en_IE", ",", "Period", "Net"),
        ("nl_NL", ";", "Period", "Net"),  # Dutch labels are not in the catalogue
    ):
        kit = await make_store_kit(database, locale=locale)
        facts = await seed_money(database, kit, seed=3)
        r = await client.get(
            f"/api/v1/store/statements?period=month&from={start}&to={end}&format=csv",
            headers=bearer(kit.token),
        )
        assert r.status_code == 200, r.text
        text = r.content.decode("utf-8-sig")  # a byte order mark for spreadsheets
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
        columns = list(rows[0])
        assert columns[0] == period and columns[-1] == net, columns
        sign = "," if delimiter == ";" else "."
        want = sum(f["total"] for f in facts)
        assert rows[-1][columns[3]] == f"{want // 100}{sign}{want % 100:02d}"  # gross sales
        assert rows[-1][period] in ("Total", "Summe")
        assert all(row[columns[1]] == "EUR" for row in rows)  # the currency column stays
        seen[locale] = rows
    assert list(seen["fr_LU"][0]) == [
        "Période", "Devise", "Paiements", "Ventes brutes", "Frais de plateforme",
        "Remboursements", "Frais de plateforme remboursés", "Litiges", "Net",
    ]  # fmt: skip
    assert seen["de_DE"][-1]["Zeitraum"] == "Summe"
    # The same figures whatever the locale.
    assert [list(r.values())[2:] for r in seen["en_IE"]] == [
        [v.replace(",", ".") for v in list(r.values())[2:]] for r in seen["fr_LU"]
    ]
