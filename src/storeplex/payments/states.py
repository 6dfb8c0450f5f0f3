"""Forward-only payment states, and how a Stripe PaymentIntent maps onto them.

A payment's status only moves up the ladder below. A failed attempt is not
final (the shopper may retry on the same intent), so `failed` sits low and
`succeeded` above everything an attempt can report; a late
`payment_intent.payment_failed` can never undo a success, and events applied
in any order end in the same state.
"""

from __future__ import annotations

from typing import Any

from storeplex.models import PaymentState

RANK: dict[str, int] = {
    PaymentState.PENDING: 0,
    PaymentState.FAILED: 1,
    PaymentState.PROCESSING: 2,
    PaymentState.CANCELED: 3,
    PaymentState.SUCCEEDED: 4,
    PaymentState.PARTIALLY_REFUNDED: 5,
    PaymentState.REFUNDED: 6,
}


def may_move(current: str, new: str) -> bool:
    """True when `new` is further along than `current` (equal states are not a move)."""
    return RANK[new] > RANK[current]


def state_of_intent(intent: dict[str, Any]) -> str:
    """Our payment state for a PaymentIntent's status.

    `requires_payment_method` with a `last_payment_error` is a failed attempt;
    without one it is a fresh intent (pending). `requires_action`,
    `requires_confirmation` and `requires_capture` are still pending for us.
    """
    status = intent.get("status")
    if status == "succeeded":
        return PaymentState.SUCCEEDED
    if status == "processing":
        return PaymentState.PROCESSING
    if status == "canceled":
        return PaymentState.CANCELED
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return PaymentState.FAILED
    return PaymentState.PENDING


def account_status(account: dict[str, Any]) -> str:
    """The store's stripe_account_status from a Connect Account.

    active: charges and payouts enabled and nothing currently due; restricted:
    details submitted but something due or disabled; pending: onboarding not
    finished; rejected: Stripe rejected the account.
    """
    requirements = account.get("requirements") or {}
    disabled = requirements.get("disabled_reason") or ""
    if disabled.startswith("rejected"):
        return "rejected"
    due = list(requirements.get("currently_due") or []) + list(requirements.get("past_due") or [])
    if account.get("charges_enabled") and account.get("payouts_enabled") and not due:
        return "active"
    if account.get("details_submitted"):
        return "restricted"
    return "pending"
