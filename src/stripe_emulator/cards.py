"""Stripe's documented test cards and ``pm_card_*`` shortcuts, and what each does.

A :class:`Card` says how a payment with it behaves (:attr:`Card.behavior`):

* ``succeed``            - authorised and captured.
* ``decline``            - 402 ``card_error`` with :attr:`Card.code` / ``decline_code``.
* ``3ds_always``         - ``requires_action`` on every payment (4000002760003184).
* ``3ds_unless_setup``   - ``requires_action`` unless the card was set up and the
  payment is off-session (4000002500003155).
* ``3ds_then_decline``   - ``requires_action``, then declined after authentication.
* ``dispute``            - succeeds, then a fraudulent dispute opens (4000000000000259).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    number: str
    brand: str
    behavior: str = "succeed"
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    country: str = "US"
    funding: str = "credit"

    @property
    def last4(self) -> str:
        return self.number[-4:]


DECLINED = "Your card was declined."

CARDS: dict[str, Card] = {
    c.number: c
    for c in [
        Card("4242424242424242", "visa"),
        Card("4000056655665556", "visa", funding="debit"),
        Card("5555555555554444", "mastercard"),
        Card("2223003122003222", "mastercard"),
        Card("5200828282828210", "mastercard", funding="debit"),
        Card("378282246310005", "amex"),
        Card("4000002500000003", "visa", country="FR"),
        Card("4000002760000016", "visa", country="DE"),
        Card("4000004420000006", "visa", country="LU"),
        Card("4000000000000002", "visa", "decline", "card_declined", "generic_decline", DECLINED),
        Card(
            "4000000000009995",
            "visa",
            "decline",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        Card(
            "4000000000009987",
            "visa",
            "decline",
            "card_declined",
            "lost_card",
            DECLINED,
        ),
        Card(
            "4000000000009979",
            "visa",
            "decline",
            "card_declined",
            "stolen_card",
            DECLINED,
        ),
        Card(
            "4000000000000069",
            "visa",
            "decline",
            "expired_card",
            "expired_card",
            "Your card has expired.",
        ),
        Card(
            "4000000000000127",
            "visa",
            "decline",
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
        ),
        Card(
            "4000000000000119",
            "visa",
            "decline",
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        Card("4000002760003184", "visa", "3ds_always", country="DE"),
        Card("4000002500003155", "visa", "3ds_unless_setup", country="FR"),
        Card(
            "4000008400001629",
            "visa",
            "3ds_then_decline",
            "card_declined",
            "card_declined",
            DECLINED,
        ),
        Card("4000000000000259", "visa", "dispute"),
    ]
}

SHORTCUTS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_fr": "4000002500000003",
    "pm_card_de": "4000002760000016",
    "pm_card_lu": "4000004420000006",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": "4000008400001629",
    "pm_card_createDispute": "4000000000000259",
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def lookup_number(number: str) -> Card | None:
    return CARDS.get(number.replace(" ", "").replace("-", ""))


def lookup_shortcut(pm_id: str) -> Card | None:
    number = SHORTCUTS.get(pm_id)
    return CARDS[number] if number else None
