"""Answering a dispute with evidence through the API, over the emulator's real HTTP.

Stripe's test evidence "winning_evidence" wins the dispute when it is submitted; the
webhooks then say won and the store's share comes back. Refusals write nothing, at
Stripe or here.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import update

from storeplex.app import create_app
from storeplex.db import Database
from storeplex.models import Dispute, utcnow
from tests.support.factories import (
    PASSWORD,
    bearer,
    login_staff,
    make_admin,
    make_store_kit,
    make_token,
)
from tests.support.flows import dispute_rows, onboarded_store, paid_order, payment_of
from tests.support.stack import Stack

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def store_balance(stack: Stack, account: str) -> int:
    balance = stack.stripe.v1.balance.retrieve(options={"stripe_account": account})
    return sum(b.amount for b in balance.pending + balance.available if b.currency == "eur")


async def test_winning_evidence_with_a_file_wins_and_the_share_comes_back(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=4000, card="pm_card_createDispute")
    payment = await payment_of(database, order["id"])
    [row] = await dispute_rows(database, order["id"])
    url = f"/api/v1/store/disputes/{row.id}/evidence"
    assert store_balance(stack, payment.stripe_account_id) == -payment.amount_platform_fee

    # A draft: kept at Stripe, not submitted.
    draft = await http.post(
        url,
        data={"product_description": "A blue mug", "uncategorized_text": "winning_evidence"},
        files={"file": ("receipt.pdf", PDF, "application/pdf")},
        headers=bearer(kit.token),
    )
    assert draft.status_code == 200, draft.text
    assert draft.json()["status"] == "needs_response"
    at_stripe = stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id)
    assert at_stripe.evidence.product_description == "A blue mug"
    file_id = at_stripe.evidence.uncategorized_file
    assert file_id and stack.stripe.v1.files.retrieve(file_id).size == len(PDF)

    # A file that is not a PDF/JPEG/PNG (named .pdf) is refused, and nothing changes.
    bad = await http.post(
        url,
        data={"uncategorized_text": "other", "submit": "true"},
        files={"file": ("fake.pdf", b"<html>not a pdf</html>", "application/pdf")},
        headers=bearer(kit.token),
    )
    assert bad.status_code == 400 and "PDF, JPEG or PNG" in bad.json()["error"]["message"]
    assert stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).status == "needs_response"
    too_long = await http.post(
        url, data={"customer_name": "x" * 201, "submit": "true"}, headers=bearer(kit.token)
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "customer_name"

    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)  # 5 MB + 5 bytes: over Stripe's limit
    over = await http.post(
        url,
        data={"uncategorized_text": "other"},
        files={"file": ("big.pdf", big, "application/pdf")},
        headers=bearer(kit.token),
    )
    assert over.status_code == 413 and "5 MB" in over.json()["error"]["message"]
    kept = stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).evidence
    assert (kept.uncategorized_text, kept.uncategorized_file) == ("winning_evidence", file_id)

    done = await http.post(
        url,
        data={"uncategorized_text": "winning_evidence", "submit": "true"},
        headers=bearer(kit.token),
    )
    assert done.status_code == 200, done.text
    stack.flush_webhooks()
    [row] = await dispute_rows(database, order["id"])
    assert (row.status, row.outcome) == ("won", "won") and row.return_transfer_id
    assert store_balance(stack, payment.stripe_account_id) == 4000 - payment.amount_platform_fee
    again = await http.post(
        url, data={"uncategorized_text": "more", "submit": "true"}, headers=bearer(kit.token)
    )
    assert again.status_code == 409


async def test_another_stores_dispute_is_not_found_and_a_past_deadline_is_refused(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    other = await make_store_kit(database)
    order = await paid_order(database, stack, http, kit, price=2500, card="pm_card_createDispute")
    [row] = await dispute_rows(database, order["id"])
    theirs = await http.post(
        f"/api/v1/store/disputes/{row.id}/evidence",
        data={"uncategorized_text": "winning_evidence", "submit": "true"},
        headers=bearer(other.token),
    )
    assert theirs.status_code == 404
    assert stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).status == "needs_response"

    async with database.session_scope() as session:  # the deadline passes
        await session.execute(
            update(Dispute)
            .where(Dispute.id == row.id)
            .values(evidence_due_by=utcnow() - timedelta(minutes=1))
        )
    late = await http.post(
        f"/api/v1/store/disputes/{row.id}/evidence",
        data={"uncategorized_text": "winning_evidence", "submit": "true"},
        headers=bearer(kit.token),
    )
    assert late.status_code == 409 and "deadline" in late.json()["error"]["message"]
    at_stripe = stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id)
    assert at_stripe.status == "needs_response" and at_stripe.evidence.uncategorized_text is None


async def test_when_the_platform_answers_disputes_only_the_platform_admin_may(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=1800, card="pm_card_createDispute")
    [row] = await dispute_rows(database, order["id"])
    settings = stack.settings.model_copy(update={"stores_answer_disputes": False})
    app = create_app(settings, database=database, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as client:
        staff = await client.post(
            f"/api/v1/store/disputes/{row.id}/evidence",
            data={"uncategorized_text": "winning_evidence", "submit": "true"},
            headers=bearer(kit.token),
        )
        assert staff.status_code == 403 and "platform answers" in staff.json()["error"]["message"]
        assert stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).status == "needs_response"
        await make_admin(database)
        platform_token = await make_token(database)
        wrong_store = await client.post(
            f"/api/v1/platform/stores/{kit.store.id + 1000}/disputes/{row.id}/evidence",
            data={"uncategorized_text": "winning_evidence", "submit": "true"},
            headers=bearer(platform_token),
        )
        assert wrong_store.status_code == 404
        admin = await client.post(
            f"/api/v1/platform/stores/{kit.store.id}/disputes/{row.id}/evidence",
            data={"uncategorized_text": "winning_evidence", "submit": "true"},
            headers=bearer(platform_token),
        )
        assert admin.status_code == 200, admin.text
        assert admin.json()["outcome"] == "won"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def test_pages_when_the_platform_answers_disputes(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2200, card="pm_card_createDispute")
    [row] = await dispute_rows(database, order["id"])
    settings = stack.settings.model_copy(update={"stores_answer_disputes": False})
    app = create_app(settings, database=database, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as staff:
        await login_staff(staff, kit.owner_email)
        page = await staff.get(f"/admin/disputes/{row.id}")
        assert "The platform answers disputes for its stores" in page.text
        assert 'name="uncategorized_text"' not in page.text  # no form to fill
        refused = await staff.post(
            f"/admin/disputes/{row.id}",
            data={"csrf_token": _csrf(page.text), "uncategorized_text": "x", "action": "save"},
        )
        assert refused.status_code == 403
    admin = await make_admin(database)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=30
    ) as client:
        login = await client.get("/platform/login")
        r = await client.post(
            "/platform/login",
            data={"email": admin.email, "password": PASSWORD, "csrf_token": _csrf(login.text)},
        )
        assert r.status_code in (302, 303)
        listed = await client.get("/platform/disputes")
        assert kit.store.name in listed.text and "Needs your answer by" in listed.text
        page = await client.get(f"/platform/disputes/{row.id}")
        csrf = _csrf(page.text)
        review = await client.post(
            f"/platform/disputes/{row.id}",
            data={"csrf_token": csrf, "uncategorized_text": "losing_evidence", "action": "review"},
        )
        assert "Send this evidence to the bank?" in review.text
        assert stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).status == "needs_response"
        sent = await client.post(
            f"/platform/disputes/{row.id}", data={"csrf_token": csrf, "action": "confirm"}
        )
        assert sent.status_code == 303
        final = await client.get(sent.headers["location"])
        assert (
            "Lost — the 22.00 EUR taken back when the dispute opened is not returned." in final.text
        )
    stack.flush_webhooks()
    [row] = await dispute_rows(database, order["id"])
    assert (row.status, row.outcome, row.return_transfer_id) == ("lost", "lost", None)
