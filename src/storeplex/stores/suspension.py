"""Suspending a store, for the platform API and the platform pages alike.

Rule: a suspended store can be paid nothing more. The store is marked suspended
(with the reason its staff will read) and then every PaymentIntent a shopper could
still pay is canceled at Stripe (`payments.cancel.cancel_open_payments`), in the
caller's transaction.
"""

from __future__ import annotations

from storeplex.models import Store
from storeplex.payments.cancel import StoreCancelResult, cancel_open_payments
from storeplex.payments.service import PaymentService
from storeplex.stores import service


async def suspend(
    payments: PaymentService, *, store_id: int, reason: str | None
) -> tuple[Store, StoreCancelResult]:
    """Suspend the store with its reason and cancel its open payments. Idempotent."""
    store = await service.suspend_store(payments.db, store_id=store_id, reason=reason)
    canceled = await cancel_open_payments(payments, store_id=store.id)
    return store, canceled
