"""The Files API and dispute evidence with files, and Stripe's test evidence values.

Sources (Stripe documentation): "File upload guide" (multipart POST to the files host,
purpose ``dispute_evidence``: PDF, JPEG or PNG, at most 5 MB); API reference "Update a
dispute" (evidence fields that take a file id; ``submit``); "Testing" > "Disputes"
(``uncategorized_text`` = ``winning_evidence`` wins, ``losing_evidence`` loses).
"""

from __future__ import annotations

import io

import pytest
import stripe

from tests.emulator.support import Control, WebhookReceiver, available, pending

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _disputed(client: stripe.StripeClient, destination: str) -> stripe.Dispute:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 5000,
            "currency": "eur",
            "application_fee_amount": 500,
            "transfer_data": {"destination": destination},
            "payment_method": "pm_card_createDispute",
            "confirm": True,
        }
    )
    return (await client.v1.disputes.list_async(params={"payment_intent": pi.id})).data[0]


async def _upload(client: stripe.StripeClient, data: bytes, name: str = "receipt.pdf") -> str:
    f = await client.v1.files.create_async(
        params={"purpose": "dispute_evidence", "file": io.BytesIO(data)}
    )
    return f.id


async def test_upload_retrieve_and_limits(client: stripe.StripeClient) -> None:
    created = await client.v1.files.create_async(
        params={"purpose": "dispute_evidence", "file": io.BytesIO(PDF)}
    )
    assert created.id.startswith("file_") and created.object == "file"
    assert created.type == "pdf" and created.size == len(PDF)
    assert created.purpose == "dispute_evidence" and created.expires_at > created.created
    again = await client.v1.files.retrieve_async(created.id)
    assert again.id == created.id and again.size == len(PDF)

    with pytest.raises(stripe.InvalidRequestError) as info:  # a text file named .pdf
        await client.v1.files.create_async(
            params={"purpose": "dispute_evidence", "file": io.BytesIO(b"just words")}
        )
    assert info.value.param == "file" and "PDF, JPEG, PNG" in str(info.value)

    big = b"%PDF-" + b"0" * (5 * 1024 * 1024)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.files.create_async(
            params={"purpose": "dispute_evidence", "file": io.BytesIO(big)}
        )
    assert "5MB" in str(info.value)

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.files.create_async(params={"purpose": "pictures", "file": io.BytesIO(PDF)})
    assert info.value.param == "purpose"


async def test_file_of_another_account_is_not_found(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    theirs = await client.v1.files.create_async(
        params={"purpose": "dispute_evidence", "file": io.BytesIO(PDF)},
        options={"stripe_account": connected.id},
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.files.retrieve_async(theirs.id)
    assert info.value.http_status == 404
    dispute = await _disputed(client, connected.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.disputes.update_async(
            dispute.id, params={"evidence": {"receipt": theirs.id}, "submit": False}
        )
    assert info.value.param == "evidence[receipt]"
    still = await client.v1.disputes.retrieve_async(dispute.id)
    assert still.evidence.receipt is None and still.status == "needs_response"


async def test_winning_evidence_wins_with_a_file(
    client: stripe.StripeClient,
    control: Control,
    connected: stripe.Account,
    receiver: WebhookReceiver,
) -> None:
    await client.v1.webhook_endpoints.create_async(
        params={"url": receiver.url, "enabled_events": ["charge.dispute.*"]}
    )
    dispute = await _disputed(client, connected.id)
    after_open = await client.v1.balance.retrieve_async()
    file_id = await _upload(client, PDF)
    draft = await client.v1.disputes.update_async(
        dispute.id,
        params={
            "evidence": {"receipt": file_id, "uncategorized_text": "winning_evidence"},
            "submit": False,
        },
    )
    assert draft.status == "needs_response" and draft.evidence.receipt == file_id
    assert draft.evidence_details.has_evidence is True
    submitted = await client.v1.disputes.update_async(
        dispute.id, params={"evidence": {"product_description": "Blue mug"}}
    )
    assert submitted.status == "won" and submitted.evidence_details.submission_count == 1
    final = await client.v1.balance.retrieve_async()
    assert available(final) + pending(final) - available(after_open) - pending(after_open) == 5000
    control.flush()
    receiver.wait_for(lambda e: e["type"] == "charge.dispute.closed")
    mine = [e for e in receiver.events() if e["data"]["object"]["id"] == dispute.id]
    statuses = {
        e["data"]["object"]["status"] for e in mine if e["type"] == "charge.dispute.updated"
    }
    assert {"under_review", "won"} <= statuses
    assert "charge.dispute.funds_reinstated" in {e["type"] for e in mine}
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.disputes.update_async(
            dispute.id, params={"evidence": {"uncategorized_text": "more"}}
        )


async def test_losing_evidence_loses_and_no_change_after_submission(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    lost = await _disputed(client, connected.id)
    result = await client.v1.disputes.update_async(
        lost.id, params={"evidence": {"uncategorized_text": "losing_evidence"}}
    )
    assert result.status == "lost"

    reviewed = await _disputed(client, connected.id)
    first = await client.v1.disputes.update_async(
        reviewed.id, params={"evidence": {"uncategorized_text": "It was delivered."}}
    )
    assert first.status == "under_review"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.disputes.update_async(
            reviewed.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
        )
    assert "already submitted" in str(info.value)


async def test_evidence_past_the_deadline_is_refused(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    dispute = await _disputed(client, connected.id)
    control.advance(8 * 86400)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.disputes.update_async(
            dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
        )
    assert "deadline" in str(info.value)


async def test_staged_evidence_is_submitted_by_submit_alone(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    dispute = await _disputed(client, connected.id)
    nothing = await client.v1.disputes.update_async(dispute.id, params={"submit": True})
    assert nothing.status == "needs_response"  # nothing staged, nothing sent
    await client.v1.disputes.update_async(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}, "submit": False}
    )
    sent = await client.v1.disputes.update_async(dispute.id, params={"submit": True})
    assert sent.status == "won" and sent.evidence_details.submission_count == 1
