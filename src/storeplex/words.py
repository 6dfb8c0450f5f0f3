"""Words people understand: Stripe's requirement codes, disabled reasons and payment errors
as a sentence and a next step.

Rule: a page never shows a Stripe code or one of our field names as the message. It shows
`Words.sentence` and `Words.next_step`; the raw code goes only in a small details line
(`Words.code`), for whoever has to ask Stripe's support about it.

Requirement paths follow Stripe's Connect docs ("Handle verification with the API"): an
entity prefix (`individual.`, `company.`, `representative.`, `person_<id>.`, `owners.`,
`directors.`, `executives.`), then a field (`address.line1`, `dob.day`,
`verification.document` ...). An unknown code gets a general sentence, never the code.
This module imports nothing of Storeplex, so any layer may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Words:
    sentence: str
    next_step: str
    code: str  # the raw code, for a details line only


# Requirements ------------------------------------------------------------------------------

# Who a requirement path is about, by its first segment.
_ENTITIES = {
    "individual": "the account holder",
    "representative": "the company's representative",
    "company": "the company",
    "owners": "the company's owners",
    "directors": "the company's directors",
    "executives": "the company's executives",
    "person": "one of the company's people",
}

# The field part of a path about a person or the company (after the entity prefix).
_FIELDS = {
    "first_name": "first name",
    "last_name": "last name",
    "first_name_kana": "first name in Kana",
    "last_name_kana": "last name in Kana",
    "first_name_kanji": "first name in Kanji",
    "last_name_kanji": "last name in Kanji",
    "maiden_name": "maiden name",
    "full_name_aliases": "other names used",
    "name": "legal name",
    "name_kana": "legal name in Kana",
    "name_kanji": "legal name in Kanji",
    "email": "email address",
    "phone": "phone number",
    "dob": "date of birth",
    "dob.day": "date of birth",
    "dob.month": "date of birth",
    "dob.year": "date of birth",
    "address": "address",
    "address.line1": "street address",
    "address.line2": "address",
    "address.city": "city",
    "address.postal_code": "postal code",
    "address.state": "state or region",
    "address.country": "country",
    "address_kana": "address in Kana",
    "address_kanji": "address in Kanji",
    "registered_address": "registered address",
    "registered_address.line1": "registered address",
    "registered_address.city": "registered address",
    "registered_address.postal_code": "registered address",
    "id_number": "national ID number",
    "ssn_last_4": "last 4 digits of the social security number",
    "tax_id": "tax ID (VAT or company number)",
    "vat_id": "VAT number",
    "registration_number": "company registration number",
    "structure": "legal structure",
    "owners_provided": "confirmation that all owners were added",
    "directors_provided": "confirmation that all directors were added",
    "executives_provided": "confirmation that all executives were added",
    "ownership_declaration.date": "signed declaration of who owns the company",
    "ownership_declaration.ip": "signed declaration of who owns the company",
    "ownership_declaration.user_agent": "signed declaration of who owns the company",
    "nationality": "nationality",
    "political_exposure": "answer about public office (political exposure)",
    "relationship.title": "job title",
    "relationship.owner": "share of ownership",
    "relationship.percent_ownership": "share of ownership",
    "relationship.director": "role as director",
    "relationship.executive": "role as executive",
    "relationship.representative": "role as representative",
    "verification.document": "identity document (passport, ID card or driving licence)",
    "verification.additional_document": "proof of address (a recent bill or bank statement)",
    "verification.proof_of_liveness": "selfie check that matches the identity document",
    "documents.company_registration_verification": "company registration document",
    "documents.company_license": "company licence",
    "documents.company_memorandum_of_association": "memorandum of association",
    "documents.company_ministerial_decree": "ministerial decree",
    "documents.company_tax_id_verification": "document showing the company's tax ID",
    "documents.proof_of_registration": "proof of registration",
    "documents.bank_account_ownership_verification": (
        "proof that the bank account is the business's"
    ),
    "documents.passport": "passport",
    "documents.visa": "visa",
}

# Whole paths that are not about a person or the company.
_REQUIREMENTS = {
    "business_type": (
        "Stripe needs to know what kind of business this is (an individual, a company ...).",
        "Open Stripe's onboarding and choose the business type.",
    ),
    "business_profile.mcc": (
        "Stripe needs to know what the business sells (its industry).",
        "Open Stripe's onboarding and pick the industry that fits best.",
    ),
    "business_profile.url": (
        "Stripe needs the business's website, or a description of what it sells.",
        "Open Stripe's onboarding and give the store's address or a short description.",
    ),
    "business_profile.product_description": (
        "Stripe needs a short description of what the business sells.",
        "Open Stripe's onboarding and describe the products in a sentence or two.",
    ),
    "business_profile.name": (
        "Stripe needs the name customers know the business by.",
        "Open Stripe's onboarding and give the business name.",
    ),
    "business_profile.support_phone": (
        "Stripe needs a phone number customers can call.",
        "Open Stripe's onboarding and add a support phone number.",
    ),
    "business_profile.support_email": (
        "Stripe needs an email address customers can write to.",
        "Open Stripe's onboarding and add a support email address.",
    ),
    "business_profile.support_url": (
        "Stripe needs a web page where customers find support.",
        "Open Stripe's onboarding and add a support page address.",
    ),
    "business_profile.annual_revenue": (
        "Stripe needs an estimate of the business's yearly revenue.",
        "Open Stripe's onboarding and give an estimate.",
    ),
    "business_profile.estimated_worker_count": (
        "Stripe needs the approximate number of people working for the business.",
        "Open Stripe's onboarding and give the number.",
    ),
    "external_account": (
        "Stripe needs a bank account to pay the store's money into.",
        "Open Stripe's onboarding and add the business's bank account (IBAN).",
    ),
    "tos_acceptance.date": (
        "Stripe's services agreement has not been accepted yet.",
        "Open Stripe's onboarding and accept the agreement at the end.",
    ),
    "tos_acceptance.ip": (
        "Stripe's services agreement has not been accepted yet.",
        "Open Stripe's onboarding and accept the agreement at the end.",
    ),
    "tos_acceptance.user_agent": (
        "Stripe's services agreement has not been accepted yet.",
        "Open Stripe's onboarding and accept the agreement at the end.",
    ),
    "tos_acceptance.service_agreement": (
        "Stripe's services agreement has not been accepted yet.",
        "Open Stripe's onboarding and accept the agreement at the end.",
    ),
    "settings.payments.statement_descriptor": (
        "Stripe needs the text shown on customers' card statements.",
        "Open Stripe's onboarding and enter the statement text (5 to 22 characters).",
    ),
    "settings.card_payments.statement_descriptor_prefix": (
        "Stripe needs the short text shown on customers' card statements.",
        "Open Stripe's onboarding and enter the statement text.",
    ),
    "company.verification.document": (
        "Stripe needs a document proving the company's registration (an extract from the "
        "trade register, for example).",
        "Open Stripe's onboarding and upload a clear scan of it.",
    ),
    "business_profile.support_address": (
        "Stripe needs an address customers can write to.",
        "Open Stripe's onboarding and add a support address.",
    ),
    "settings.dashboard.display_name": (
        "Stripe needs the name to show for the business.",
        "Open Stripe's onboarding and enter the business name.",
    ),
}

_ONBOARDING_STEP = "Open Stripe's onboarding (Payments setup) and fill in what it asks for."


def requirement(code: str) -> Words:
    """What Stripe asks for, as a sentence and the next step."""
    code = (code or "").strip()
    if code in _REQUIREMENTS:
        sentence, step = _REQUIREMENTS[code]
        return Words(sentence, step, code)
    head, _, rest = code.partition(".")
    entity_key = "person" if head.startswith("person_") else head
    if entity_key in _ENTITIES and rest:
        who = _ENTITIES[entity_key]
        field = _FIELDS.get(rest)
        if field is None and rest.startswith("verification."):
            field = "identity check"
        if field is not None:
            if field.startswith("identity document") or field.startswith("proof"):
                step = "Open Stripe's onboarding and upload a clear photo or scan of it."
            else:
                step = "Open Stripe's onboarding and fill it in."
            return Words(f"Stripe needs the {field} of {who}.", step, code)
        return Words(f"Stripe needs more details about {who}.", _ONBOARDING_STEP, code)
    if entity_key in _ENTITIES:  # "owners", "directors" ... alone: the people themselves
        return Words(
            f"Stripe needs the details of {_ENTITIES[entity_key]}.", _ONBOARDING_STEP, code
        )
    return Words(
        "Stripe needs one more piece of information about the business.", _ONBOARDING_STEP, code
    )


# Why an account cannot take payments (requirements.disabled_reason) -------------------------

_DISABLED = {
    "requirements.past_due": (
        "Stripe needs the information listed here before the store can take card payments.",
        _ONBOARDING_STEP,
    ),
    "requirements.pending_verification": (
        "Stripe is checking the information it was given; this usually takes minutes, "
        "sometimes a few days.",
        "Nothing to do now; this page changes once Stripe has finished.",
    ),
    "action_required.requested_capabilities": (
        "Stripe needs the business to accept card payments before it can take them.",
        _ONBOARDING_STEP,
    ),
    "listed": (
        "Stripe has paused the account while it checks it against lists it must follow.",
        "Wait for Stripe; if it takes more than a few days, contact the platform operator.",
    ),
    "under_review": (
        "Stripe is reviewing the account.",
        "Wait for Stripe; if it takes more than a few days, contact the platform operator.",
    ),
    "platform_paused": (
        "The platform has paused payments for this account.",
        "Contact the platform operator.",
    ),
    "rejected.fraud": (
        "Stripe has closed the account because it suspects fraud.",
        "Contact the platform operator; the store cannot take payments with this account.",
    ),
    "rejected.incomplete_verification": (
        "Stripe has closed the account because the identity checks were not completed in time.",
        "Contact the platform operator to start again with a new account.",
    ),
    "rejected.listed": (
        "Stripe has closed the account because the business is on a list it must follow "
        "(sanctions, for example).",
        "Contact the platform operator.",
    ),
    "rejected.other": (
        "Stripe has closed the account.",
        "Contact the platform operator.",
    ),
    "rejected.platform_fraud": (
        "The platform has closed the account because it suspects fraud.",
        "Contact the platform operator.",
    ),
    "rejected.platform_other": (
        "The platform has closed the account.",
        "Contact the platform operator.",
    ),
    "rejected.platform_terms_of_service": (
        "The platform has closed the account for breaking its terms of service.",
        "Contact the platform operator.",
    ),
    "rejected.terms_of_service": (
        "Stripe has closed the account for breaking its terms of service.",
        "Contact the platform operator.",
    ),
    "fields_needed": (  # the name before requirements.past_due (older API versions)
        "Stripe needs the information listed here before the store can take card payments.",
        _ONBOARDING_STEP,
    ),
    "other": (
        "Stripe has paused the account for a reason it did not give.",
        "Contact the platform operator, who can ask Stripe.",
    ),
}


def disabled_reason(code: str) -> Words:
    """Why Stripe does not let the account take payments, as a sentence and the next step."""
    code = (code or "").strip()
    if code in _DISABLED:
        sentence, step = _DISABLED[code]
        return Words(sentence, step, code)
    if code.startswith("rejected."):
        return Words("Stripe has closed the account.", "Contact the platform operator.", code)
    return Words(
        "Stripe does not let the account take payments right now.",
        "Contact the platform operator, who can ask Stripe.",
        code,
    )


# Payment errors (error codes and card decline codes) ---------------------------------------

_OTHER_CARD = "Try again with another card, or ask your bank why."
_PAYMENT = {
    "card_declined": ("Your bank declined the card.", _OTHER_CARD),
    "generic_decline": ("Your bank declined the card.", _OTHER_CARD),
    "do_not_honor": ("Your bank declined the card.", _OTHER_CARD),
    "insufficient_funds": (
        "The card has not enough money available for this payment.",
        "Use another card, or add money to this account and try again.",
    ),
    "expired_card": ("The card has expired.", "Check the expiry date, or use another card."),
    "incorrect_cvc": (
        "The security code (the 3 digits on the back) is not right.",
        "Check it and try again.",
    ),
    "invalid_cvc": (
        "The security code (the 3 digits on the back) is not valid.",
        "Check it and try again.",
    ),
    "incorrect_number": ("The card number is not right.", "Check the number and try again."),
    "invalid_number": ("The card number is not valid.", "Check the number and try again."),
    "invalid_expiry_month": ("The expiry month is not valid.", "Check the date on the card."),
    "invalid_expiry_year": ("The expiry year is not valid.", "Check the date on the card."),
    "incorrect_zip": ("The postal code does not match the card.", "Check it and try again."),
    "processing_error": (
        "Something went wrong while the card was being charged; no money was taken.",
        "Try again in a moment.",
    ),
    "try_again_later": (
        "Your bank could not answer right now; no money was taken.",
        "Try again in a moment.",
    ),
    "lost_card": ("Your bank declined the card.", _OTHER_CARD),
    "stolen_card": ("Your bank declined the card.", _OTHER_CARD),
    "pickup_card": ("Your bank declined the card.", _OTHER_CARD),
    "fraudulent": ("The payment was declined.", _OTHER_CARD),
    "card_velocity_exceeded": (
        "The card has reached its spending limit for now.",
        "Use another card, or ask your bank to raise the limit.",
    ),
    "withdrawal_count_limit_exceeded": (
        "The card has reached its spending limit for now.",
        "Use another card, or ask your bank to raise the limit.",
    ),
    "card_not_supported": (
        "This card cannot be used for this kind of payment.",
        "Use another card.",
    ),
    "currency_not_supported": ("The card cannot pay in this currency.", "Use another card."),
    "transaction_not_allowed": ("Your bank does not allow this payment.", _OTHER_CARD),
    "authentication_required": (
        "Your bank wants you to confirm this payment, and it was not confirmed.",
        "Pay again and confirm the payment in your bank's window or app.",
    ),
    "payment_intent_authentication_failure": (
        "The payment was not confirmed with your bank (3-D Secure), so it did not go through.",
        "Pay again and confirm the payment in your bank's window or app, or use another card.",
    ),
    "setup_intent_authentication_failure": (
        "The card was not confirmed with your bank (3-D Secure).",
        "Try again and confirm in your bank's window or app.",
    ),
    "payment_intent_payment_attempt_failed": ("The payment did not go through.", _OTHER_CARD),
    "payment_intent_payment_attempt_expired": (
        "The payment took too long to be confirmed and was stopped; no money was taken.",
        "Pay again.",
    ),
    "payment_method_unactivated": ("This card cannot be used yet.", "Use another card."),
    "amount_too_small": (
        "The amount is below the smallest a card payment may be.",
        "Add something to the order.",
    ),
    "amount_too_large": (
        "The amount is above the largest a card payment may be.",
        "Split the order into smaller ones.",
    ),
    "approve_with_id": ("Your bank could not approve the payment.", "Try again in a moment."),
    "call_issuer": ("Your bank declined the card.", _OTHER_CARD),
    "rate_limit": ("Too many attempts in a short time.", "Wait a minute and try again."),
}


def payment_error(code: str | None, decline_code: str | None = None) -> Words:
    """What a shopper (or the store's staff) is told about a failed payment."""
    raw = decline_code or code or ""
    for key in (decline_code, code):
        if key and key in _PAYMENT:
            sentence, step = _PAYMENT[key]
            return Words(sentence, step, raw)
    return Words("The payment did not go through; no money was taken.", _OTHER_CARD, raw)


def payment_error_table() -> dict[str, dict[str, str]]:
    """Every payment error's words, for the payment page's script (keyed by code)."""
    return {code: {"sentence": s, "next_step": n} for code, (s, n) in _PAYMENT.items()}


# Account status, for the store's staff and for the platform operator -----------------------

ACCOUNT_STATUS_FOR_OPERATOR = {
    "active": "Active: the store can take card payments",
    "restricted": "Restricted: Stripe needs more information before the store can take payments",
    "pending": "Onboarding started but not finished by the store's owner",
    "rejected": "Closed by Stripe: the store cannot take payments",
    "inactive": "Disconnected from the platform",
    "not_configured": "Payments not set up yet: the owner has not started Stripe's onboarding",
}

# Our own field names, as a person reads them (for messages that name a field).
FIELD_NAMES = {
    "platform_fee_percentage": "commission (%)",
    "percentage": "commission (%)",
    "platform_fixed_fee": "fixed fee",
    "platform_fixed_fee_amount": "fixed fee",
    "fixed_fee": "fixed fee",
    "owner_email": "owner's email",
    "owner_password": "owner's password",
    "business_email": "business email",
    "business_phone": "business phone",
    "address_line1": "address",
    "address_line2": "address (second line)",
    "postal_code": "postal code",
    "minimum_payout_amount": "minimum payout",
    "payout_schedule": "payout schedule",
    "slug": "web address",
    "minimum_payout": "minimum payout",
    "new_password": "new password",
    "current_password": "current password",
    "stock_delta": "stock change",
    "tracking_url": "tracking link",
    "expires_in_days": "days until it expires",
    "product_id": "product",
    "staff_id": "staff member",
    "order_id": "order",
    "payment_id": "payment",
}

_FIELD_WORD = re.compile(r"\b(" + "|".join(sorted(FIELD_NAMES, key=len, reverse=True)) + r")\b")


def humanize_fields(message: str) -> str:
    """A service message with our field names replaced by words ("Fixed fee must be ...")."""
    out = _FIELD_WORD.sub(lambda m: FIELD_NAMES[m.group(1)], message)
    return out[:1].upper() + out[1:] if out != message else out
