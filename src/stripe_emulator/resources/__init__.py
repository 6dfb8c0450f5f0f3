"""API resources, one module per domain; importing them registers their routes."""

from stripe_emulator.resources import (  # noqa: F401
    accounts,
    balance,
    customers,
    disputes,
    events,
    payment_intents,
    payouts,
    refunds,
    setup_intents,
    transfers,
)
