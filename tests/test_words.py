"""Words people understand: every Stripe requirement path, disabled reason and payment error
that a page shows reads as a sentence and a next step, never as the code itself."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from storeplex import words
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail import notify
from storeplex.mail.render import render_mail
from storeplex.models import OutboxMail, StorePaymentConfig
from tests.support.factories import make_store_kit

# The requirement paths of Stripe's Connect docs ("Handle verification with the API"),
# including ones about a person with an id, and the disabled reasons of the Account object.
REQUIREMENTS = [
    "business_type", "business_profile.mcc", "business_profile.url",
    "business_profile.product_description", "business_profile.support_phone",
    "external_account", "tos_acceptance.date", "tos_acceptance.ip",
    "settings.payments.statement_descriptor", "individual.first_name", "individual.last_name",
    "individual.dob.day", "individual.dob.month", "individual.dob.year", "individual.email",
    "individual.phone", "individual.address.line1", "individual.address.city",
    "individual.address.postal_code", "individual.id_number", "individual.ssn_last_4",
    "individual.verification.document", "individual.verification.additional_document",
    "individual.political_exposure", "company.name", "company.tax_id", "company.address.line1",
    "company.phone", "company.owners_provided", "company.directors_provided",
    "company.verification.document", "representative.first_name",
    "representative.relationship.title", "representative.verification.document",
    "person_1NAbc2ExAmPlE.dob.day", "person_1NAbc2ExAmPlE.verification.document",
    "owners.email", "directors.first_name", "executives.last_name", "owners",
]  # fmt: skip
DISABLED = [
    "action_required.requested_capabilities", "listed", "other", "platform_paused",
    "rejected.fraud", "rejected.incomplete_verification", "rejected.listed", "rejected.other",
    "rejected.platform_fraud", "rejected.platform_other", "rejected.platform_terms_of_service",
    "rejected.terms_of_service", "requirements.past_due", "requirements.pending_verification",
    "under_review",
]  # fmt: skip
PAYMENT = [
    "card_declined", "insufficient_funds", "expired_card", "incorrect_cvc", "processing_error",
    "payment_intent_authentication_failure", "authentication_required", "lost_card",
    "stolen_card", "generic_decline", "do_not_honor", "incorrect_number", "try_again_later",
]  # fmt: skip
# What a code looks like: a word with an underscore or a dot between letters.
CODE_LIKE = re.compile(r"[a-z]+_[a-z_]+|[a-z]+\.[a-z]+")


def _readable(item: words.Words, code: str) -> None:
    for text in (item.sentence, item.next_step):
        if "_" in code or "." in code:  # "owners" alone is a plain word
            assert code not in text
        assert not CODE_LIKE.search(text), text
        assert text[0].isupper() and text.endswith("."), text
    assert item.code == code


@pytest.mark.parametrize("code", REQUIREMENTS)
def test_every_requirement_reads_as_a_sentence(code: str) -> None:
    _readable(words.requirement(code), code)


def test_requirements_say_what_is_needed() -> None:
    assert "industry" in words.requirement("business_profile.mcc").sentence
    assert "agreement" in words.requirement("tos_acceptance.ip").sentence
    assert "bank account" in words.requirement("external_account").sentence
    doc = words.requirement("individual.verification.document")
    assert "identity document" in doc.sentence and "upload" in doc.next_step
    assert "date of birth" in words.requirement("person_1NAbc2ExAmPlE.dob.day").sentence
    unknown = words.requirement("some.future.requirement_path")
    _readable(unknown, "some.future.requirement_path")


@pytest.mark.parametrize("code", DISABLED)
def test_every_disabled_reason_reads_as_a_sentence(code: str) -> None:
    item = words.disabled_reason(code)
    _readable(item, code)
    assert item.sentence != words.disabled_reason("no_such_reason").sentence or code == "other"


def test_past_due_right_after_a_first_attempt_does_not_blame_anyone() -> None:
    item = words.disabled_reason("requirements.past_due")
    assert "late" not in item.sentence and "past due" not in item.sentence
    assert "before the store can take card payments" in item.sentence


@pytest.mark.parametrize("code", PAYMENT)
def test_every_payment_error_reads_as_a_sentence(code: str) -> None:
    _readable(words.payment_error(code), code)


def test_payment_errors_prefer_the_decline_code_and_never_show_stripes_text() -> None:
    item = words.payment_error("card_declined", "insufficient_funds")
    assert "not enough money" in item.sentence and item.code == "insufficient_funds"
    three_ds = words.payment_error("payment_intent_authentication_failure")
    assert "3-D Secure" in three_ds.sentence and "PaymentMethod" not in three_ds.sentence
    assert "payment_method_data" not in three_ds.next_step
    _readable(words.payment_error("something_new"), "something_new")
    assert set(words.payment_error_table()) >= set(PAYMENT)


def test_field_names_become_words() -> None:
    assert words.humanize_fields("platform_fee_percentage must be between 0 and 100") == (
        "Commission (%) must be between 0 and 100"
    )
    assert words.humanize_fields("owner_email: bad") == "Owner's email: bad"
    assert words.humanize_fields("Nothing to change") == "Nothing to change"


async def test_the_stripe_needs_information_mail_speaks_in_words(
    database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    async with database.session_scope() as s:
        config = (
            await s.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.store_id == kit.store.id)
            )
        ).scalar_one()
        config.details_submitted = True
        config.requirements_due = json.dumps(
            ["individual.verification.document", "tos_acceptance.date", "tos_acceptance.ip"]
        )
        await notify.account_needs_information(s, config=config)
    async with database.session_scope() as s:
        mail = (await s.execute(select(OutboxMail))).scalar_one()
    text = render_mail(mail, settings).text
    assert "identity document" in text and "services agreement" in text
    assert text.count("services agreement") == 1
    body = text.split("(Stripe's codes")[0]
    assert "verification" not in body and "tos acceptance" not in body and "›" not in body
    assert "individual.verification.document" in text  # only in the codes line
