"""The store admin's refund: the amount is typed (never pre-filled), confirmed on a page that
says what the store's share loses, then sent by the same sequence as the API; the note and
the store's share after refunds are shown on the payment."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy import func, select, update

from storeplex.db import Database
from storeplex.models import Refund, Store
from storeplex.money import proportional_share
from tests.support.factories import login_staff
from tests.support.flows import onboarded_store, paid_order, payment_of
from tests.support.stack import Stack


async def refund_rows(db: Database, payment_id: int) -> int:
    async with db.session_scope() as s:
        query = select(func.count(Refund.id)).where(Refund.payment_id == payment_id)
        return int((await s.execute(query)).scalar_one())


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|dd)>', html, re.S)
    assert found is not None, element_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


async def test_refund_is_typed_confirmed_then_shown_with_its_note_and_the_new_share(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    async with database.session_scope() as s:
        await s.execute(update(Store).where(Store.id == kit.store.id).values(locale="fr_LU"))
    order = await paid_order(database, stack, http, kit, price=2500)
    payment = await payment_of(database, order["id"])
    csrf = await login_staff(http, kit.owner_email)
    url = f"/admin/payments/{payment.id}"

    page = (await http.get(url)).text
    assert re.search(r'id="refund-amount"[^>]*value=""', page), "the amount is not pre-filled"
    assert text_of(page, "you-receive") == f"{payment.amount_store / 100:.2f} €".replace(".", ",")

    empty = await http.post(f"{url}/refund", data={"csrf_token": csrf, "amount": ""})
    assert empty.status_code == 400 and "Type the amount to refund" in empty.text
    too_much = await http.post(f"{url}/refund", data={"csrf_token": csrf, "amount": "25,01"})
    assert too_much.status_code == 400 and "at most 25,00 €" in too_much.text
    assert 'value="25,01"' in too_much.text, "what was typed stays in the form"

    note = "Parcel arrived damaged, half back"
    step = await http.post(
        f"{url}/refund",
        data={"csrf_token": csrf, "amount": "12,50", "reason": "requested_by_customer",
              "note": note},
    )  # fmt: skip
    assert step.status_code == 200
    # Stripe reverses half the transfer (the whole 25.00 went to the store) and gives back
    # half the platform fee, each rounded half up.
    fee_back = proportional_share(1250, payment.amount_total, payment.amount_platform_fee)
    taken = 1250 - fee_back
    assert text_of(step.text, "confirm-q") == f"Refund 12,50 € of order #{order['number']}?"
    share = text_of(step.text, "confirm-share")
    assert share.startswith(f"The store's share goes down by {taken / 100:.2f} €".replace(".", ","))
    assert await refund_rows(database, payment.id) == 0, "nothing happens before the yes"
    assert (
        stack.stripe.v1.refunds.list(
            params={"payment_intent": payment.stripe_payment_intent_id}
        ).data
        == []
    )

    confirm = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', step.text))
    done = await http.post(f"{url}/refund", data=confirm)
    assert done.status_code == 303, done.text
    stack.flush_webhooks()
    page = (await http.get(url)).text
    assert note in page
    share_now = payment.amount_store - taken
    assert text_of(page, "you-receive").startswith(f"{share_now / 100:.2f} €".replace(".", ","))
    [refund] = stack.stripe.v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}
    ).data
    assert refund.amount == 1250
    transfer = stack.stripe.v1.transfers.retrieve(str(payment.stripe_transfer_id))
    fee = stack.stripe.v1.application_fees.retrieve(str(payment.stripe_application_fee_id))
    assert transfer.amount_reversed - fee.amount_refunded == taken, "the confirmation was true"

    # The same confirmation posted again (a second click on "Yes") sends nothing more.
    again = await http.post(f"{url}/refund", data=confirm)
    assert again.status_code == 409 and "refunded meanwhile" in again.text
    assert await refund_rows(database, payment.id) == 1
    assert len(stack.stripe.v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}
    ).data) == 1  # fmt: skip
    more = await http.post(f"{url}/refund", data={**confirm, "amount_minor": "1251"})
    assert more.status_code == 400 and "at most 12,50 €" in more.text

    # Two clicks at once on a new confirmation: one refund, the other is told.
    step = await http.post(f"{url}/refund", data={"csrf_token": csrf, "amount": "5,00"})
    confirm = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', step.text))
    twins = await asyncio.gather(*(http.post(f"{url}/refund", data=confirm) for _ in range(2)))
    assert sorted(r.status_code for r in twins) == [303, 409]
    assert await refund_rows(database, payment.id) == 2
