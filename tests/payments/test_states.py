"""The payment ladder: what a shopper and a store would notice if a state moved backwards."""

from __future__ import annotations

from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeplex.models import PaymentState as S
from storeplex.payments.states import account_status, may_move, state_of_intent

AFTER_SUCCESS = (S.PARTIALLY_REFUNDED, S.REFUNDED)
BEFORE_SUCCESS = (S.PENDING, S.FAILED, S.PROCESSING, S.CANCELED)


@pytest.mark.parametrize("late", BEFORE_SUCCESS)
def test_a_late_event_never_undoes_a_success(late: str) -> None:
    assert not may_move(S.SUCCEEDED, late)
    for refunded in AFTER_SUCCESS:
        assert not may_move(refunded, late)


def test_a_failed_attempt_is_not_final_and_a_refund_is() -> None:
    assert may_move(S.FAILED, S.SUCCEEDED)  # the shopper retries with another card
    assert may_move(S.FAILED, S.PROCESSING)
    assert may_move(S.PENDING, S.FAILED)
    assert not may_move(S.PROCESSING, S.FAILED)  # a bank debit in flight is not reset
    assert may_move(S.SUCCEEDED, S.PARTIALLY_REFUNDED)
    assert may_move(S.PARTIALLY_REFUNDED, S.REFUNDED)
    assert not may_move(S.REFUNDED, S.PARTIALLY_REFUNDED)
    assert [s for s in S.ALL if may_move(S.REFUNDED, s)] == []


def test_no_state_moves_to_itself() -> None:
    assert [s for s in S.ALL if may_move(s, s)] == []


def test_the_ladder_is_a_total_order() -> None:
    """Of two different states exactly one may follow the other: no cycle, no tie."""
    for a, b in permutations(S.ALL, 2):
        assert may_move(a, b) != may_move(b, a), (a, b)


@given(st.lists(st.sampled_from(S.ALL), min_size=1, max_size=8), st.randoms())
def test_events_applied_in_any_order_end_in_the_same_state(states: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    def apply(sequence: list[str]) -> str:
        current = S.PENDING
        for new in sequence:
            if may_move(current, new):
                current = new
        return current

    shuffled = list(states)
    rnd.shuffle(shuffled)
    assert apply(states) == apply(shuffled)


@pytest.mark.parametrize(
    ("intent", "state"),
    [
        ({"status": "succeeded"}, S.SUCCEEDED),
        ({"status": "processing"}, S.PROCESSING),
        ({"status": "canceled"}, S.CANCELED),
        ({"status": "requires_payment_method"}, S.PENDING),
        ({"status": "requires_payment_method", "last_payment_error": {"code": "x"}}, S.FAILED),
        ({"status": "requires_action"}, S.PENDING),
        ({"status": "requires_confirmation"}, S.PENDING),
        ({"status": "requires_capture"}, S.PENDING),
    ],
)
def test_each_intent_status_maps_to_what_the_store_sees(
    intent: dict[str, object], state: str
) -> None:
    assert state_of_intent(intent) == state


# What a store owner reads as their payments status, from the Connect account Stripe reports.
DETAILS_IN = {"details_submitted": True}
ENABLED = {"charges_enabled": True, "payouts_enabled": True, **DETAILS_IN}


@pytest.mark.parametrize(
    ("account", "status"),
    [
        ({**ENABLED, "requirements": {"currently_due": [], "past_due": []}}, "active"),
        ({**ENABLED, "requirements": {"currently_due": None, "past_due": None}}, "active"),
        ({**ENABLED}, "active"),  # no requirements block at all
        ({**ENABLED, "requirements": None}, "active"),
        # Stripe wants a document now: charges may still work, but something is owed.
        ({**ENABLED, "requirements": {"currently_due": ["individual.id_number"]}}, "restricted"),
        ({**ENABLED, "requirements": {"past_due": ["external_account"]}}, "restricted"),
        (
            {**ENABLED, "requirements": {"currently_due": None, "past_due": ["tos_acceptance"]}},
            "restricted",
        ),
        ({**DETAILS_IN, "charges_enabled": True, "payouts_enabled": False}, "restricted"),
        ({**DETAILS_IN, "charges_enabled": False, "payouts_enabled": True}, "restricted"),
        (
            {**DETAILS_IN, "requirements": {"disabled_reason": "requirements.past_due"}},
            "restricted",
        ),
        ({"details_submitted": False}, "pending"),
        ({}, "pending"),
        ({"charges_enabled": True, "payouts_enabled": False}, "pending"),
        ({"requirements": {"currently_due": ["business_type"]}}, "pending"),
        # Rejected wins over everything else, whatever the flags still say.
        ({**ENABLED, "requirements": {"disabled_reason": "rejected.fraud"}}, "rejected"),
        ({"requirements": {"disabled_reason": "rejected.terms_of_service"}}, "rejected"),
        ({**DETAILS_IN, "requirements": {"disabled_reason": "rejected.other"}}, "rejected"),
        ({**ENABLED, "requirements": {"disabled_reason": None}}, "active"),
    ],
)
def test_each_connect_account_maps_to_the_status_the_store_sees(
    account: dict[str, object], status: str
) -> None:
    assert account_status(account) == status
