"""The statement page's tiles add up on screen, each explained; a bad range is a form message."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx

from storeplex.db import Database
from tests.support.factories import login_staff, make_store_kit
from tests.support.money import seed_money

TILES = ("st-gross", "st-fees", "st-fee-refunds", "st-refunds", "st-disputes", "st-net")


def shown(html: str, element_id: str) -> Decimal:
    """A tile's amount as a person reads it ("1,234.50 EUR" → 1234.50)."""
    found = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert found is not None, element_id
    return Decimal(found.group(1).replace("EUR", "").replace(",", "").strip())


async def test_the_tiles_add_up_as_displayed(database: Database, client: httpx.AsyncClient) -> None:
    kit = await make_store_kit(database)
    await seed_money(database, kit)
    await login_staff(client, kit.owner_email)
    r = await client.get("/admin/statements", params={"from": "2026-03-30", "to": "2026-04-03"})
    assert r.status_code == 200, r.text
    gross, fees, fee_refunds, refunds, disputes, net = (shown(r.text, t) for t in TILES)
    assert gross - fees + fee_refunds - refunds - disputes == net
    assert fee_refunds > 0 and refunds > 0 and disputes > 0, "every term is on screen"
    tiles = r.text[r.text.index('id="statement-tiles"') :]
    for line in ("commission the platform gave back", "refunds you gave", "decided against you",
                 "What you keep"):  # fmt: skip
        assert line in tiles, line


async def test_a_reversed_range_is_a_message_in_the_form(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    r = await client.get("/admin/statements", params={"from": "2026-05-02", "to": "2026-05-01"})
    assert r.status_code == 400
    assert 'id="range-error"' in r.text and "From must be on or before To" in r.text
    assert 'value="2026-05-02"' in r.text, "the typed dates stay in the form"
    assert 'id="statement-tiles"' not in r.text
    r = await client.get("/admin/statements", params={"from": "2020-01-01", "to": "2026-01-01"})
    assert r.status_code == 400 and "narrow the range" in r.text
