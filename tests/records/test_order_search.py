"""Order search on the admin page and the API: number, email, name; bounded; tenant-scoped."""

from __future__ import annotations

import re

import httpx

from storeplex.db import Database
from tests.records.bulk import bulk_orders
from tests.support.factories import bearer, login_staff, make_store_kit


def numbers_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/admin/orders/\d+">#(\d+)</a>', html)]


async def test_search_by_number_email_and_name(database: Database, http: httpx.AsyncClient) -> None:
    kit = await make_store_kit(database)
    names = ["Ana Lima", "Bruno Costa", "Ana-Maria Ionescu", "Zoë 100% Real", "Bo_b"]
    emails = ["ana@example.com", "bruno@example.com", "am@example.org", "zoe@example.com",
              "bob@example.net"]  # fmt: skip
    await bulk_orders(database, kit.store, 5, names=names, emails=emails)
    other = await make_store_kit(database)
    await bulk_orders(database, other.store, 3, names=["Ana Other"] * 3,
                      emails=["ana@example.com", "x@o.test", "y@o.test"])  # fmt: skip
    await login_staff(http, kit.owner_email)

    async def search(q: str) -> list[int]:
        r = await http.get("/admin/orders", params={"q": q})
        assert r.status_code == 200, r.text
        return numbers_on(r.text)

    assert await search("2") == [2]
    assert await search("#4") == [4]
    assert await search("ANA@example.com") == [1], "whole email, any case"
    assert await search("ana") == [3, 1], "part of a name, newest first; not the other store's"
    assert await search("example.org") == [3]
    assert await search("100%") == [4], "% is a character, not a wildcard"
    assert await search("Br_no") == [], "_ is a character, not a wildcard"
    assert await search("bo_b") == [5]
    assert await search("") == [5, 4, 3, 2, 1]
    page = await http.get("/admin/orders", params={"q": "nobody"})
    assert "No orders match “nobody”" in page.text

    long = await http.get("/admin/orders", params={"q": "x" * 101})
    assert long.status_code == 400
    assert "Search for at most 100 characters" in long.text and 'id="f-q"' in long.text

    api = await http.get("/api/v1/store/orders", params={"q": "ana"}, headers=bearer(kit.token))
    assert [o["number"] for o in api.json()["data"]] == [3, 1]
    api = await http.get("/api/v1/store/orders", params={"q": "2"}, headers=bearer(other.token))
    assert [o["number"] for o in api.json()["data"]] == [2]
    api = await http.get("/api/v1/store/orders", params={"q": "x" * 101}, headers=bearer(kit.token))
    assert api.status_code == 422
