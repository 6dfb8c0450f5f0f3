"""PaymentService: Connect onboarding, PaymentIntents, and applying Stripe's state.

Rules a newcomer must know:
- The amount of a payment comes from the order, never from the request.
- One Payment (and one PaymentIntent) per order; the idempotency key of every
  Stripe call is made from our ids, so retries and races create nothing twice.
- `apply_payment_intent` is the only place a payment's state changes; the
  webhook and the shopper's return page both go through it, and it only moves
  states forward (see `storeplex.payments.states`).
- Services never commit: the request or job around them does.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.config import Settings
from storeplex.customers import service as customers
from storeplex.db import dialect_insert
from storeplex.errors import BadRequest, Conflict, Forbidden, NotFound
from storeplex.mail import notify
from storeplex.models import (
    AccountStatus,
    Order,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    PaymentState,
    Store,
    StorePaymentConfig,
    StoreStatus,
    utcnow,
)
from storeplex.money import (
    format_amount,
    minimum_charge,
    parse_percentage,
    split_platform_fee,
    to_major,
)
from storeplex.orders import service as orders
from storeplex.payments.states import account_status, may_move, state_of_intent
from storeplex.stripe.binding import EventRejected, check_charge_terms, destination_of
from storeplex.stripe.gateway import StripeDict, StripeGateway
from storeplex.stripe.geography import why_cannot_pay
from storeplex.stripe.ids import PLATFORM_TAG, idempotency_key, order_ref

log = logging.getLogger("storeplex.payments")


class PaymentNotConfigured(NotFound):
    code = "payments_not_configured"


class PaymentsNotAccepted(Conflict):
    code = "payments_not_accepted"


class PaymentNotYetRecorded(Conflict):
    """An event about our intent arrived before the order it names is visible: retry later."""

    code = "payment_not_yet_recorded"


def _id_of(value: Any) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


# The two queries on every create-intent and payment webhook, built once (building a
# statement costs more CPU than running one; see benchmarks/).
_ORDER_FOR_INTENT = (
    select(Order, Store.name)
    .join(Store, Store.id == Order.store_id)
    .where(
        Order.id == bindparam("order_id", type_=BigInteger),
        Order.store_id == bindparam("store_id", type_=BigInteger),
    )
    .with_for_update(of=Order)
)
# The store's status is read here, after the order lock, so a suspension committed while
# we waited for the lock is seen (the first statement's join would show the old row).
_CONFIG_AND_PAYMENT = (
    select(StorePaymentConfig, Payment, Store.status)
    .join(Store, Store.id == StorePaymentConfig.store_id)
    .outerjoin(Payment, Payment.order_id == bindparam("order_id", type_=BigInteger))
    .where(StorePaymentConfig.store_id == bindparam("store_id", type_=BigInteger))
)
_LOCK_BY_INTENT = (
    select(Order, Payment)
    .join(Payment, Payment.order_id == Order.id)
    .where(Payment.stripe_payment_intent_id == bindparam("intent_id", type_=String))
    .with_for_update(of=[Order, Payment])
    .execution_options(populate_existing=True)
)


# Payment states in which a requires_action intent still waits for the shopper.
ACTION_MAY_HELP = (PaymentState.PENDING, PaymentState.FAILED)


class PaymentService:
    """Payment operations for one request or job (one session, one gateway)."""

    def __init__(self, session: AsyncSession, gateway: StripeGateway, settings: Settings) -> None:
        self.db = session
        self.stripe = gateway
        self.settings = settings

    # Configuration --------------------------------------------------------------------------

    async def get_store_payment_config(
        self, store_id: int, *, for_update: bool = False
    ) -> StorePaymentConfig:
        """The store's payment configuration, or PaymentNotConfigured when it has none."""
        query = select(StorePaymentConfig).where(StorePaymentConfig.store_id == store_id)
        if for_update:
            query = query.with_for_update()
        config = (await self.db.execute(query)).scalar_one_or_none()
        if config is None:
            raise PaymentNotConfigured(f"Store {store_id} has not set up payments yet")
        return config

    async def get_or_create_store_payment_config(self, store_id: int) -> StorePaymentConfig:
        """The store's configuration, created with defaults if missing."""
        store = await self.store_or_404(store_id)
        await self.db.execute(
            dialect_insert(self.db, StorePaymentConfig)
            .values(
                store_id=store_id,
                currency=store.currency,
                stripe_account_status=AccountStatus.PENDING,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["store_id"])
        )
        return await self.get_store_payment_config(store_id, for_update=True)

    async def set_platform_fee(
        self, store_id: int, *, percentage: Any, fixed_fee_amount: int
    ) -> StorePaymentConfig:
        """Platform admin only: the store's commission (0-100 %, two decimals) and fixed fee."""
        pct = parse_percentage(percentage, field="platform_fee_percentage")
        config = await self.get_or_create_store_payment_config(store_id)
        config.platform_fee_percentage = pct
        config.platform_fixed_fee_amount = fixed_fee_amount
        return config

    async def store_or_404(self, store_id: int) -> Store:
        store = await self.db.get(Store, store_id)
        if store is None:
            raise NotFound(f"No store with id {store_id}")
        return store

    # Onboarding ------------------------------------------------------------------------------

    async def create_store_stripe_account(self, store_id: int, store_data: dict[str, Any]) -> str:
        """Create the store's Express account once; a second call returns the same account."""
        config = await self.get_or_create_store_payment_config(store_id)
        if config.stripe_account_id:
            return config.stripe_account_id
        store = await self.store_or_404(store_id)
        refused = why_cannot_pay(await self.stripe.platform_country(), store.country)
        if refused is not None:
            raise BadRequest(refused, field="country", code="country_not_supported")
        business_type = store_data.get("business_type") or "company"
        profile = {
            "name": store_data.get("business_name") or store.name,
            "support_email": store_data.get("business_email") or store.business_email,
            "url": f"{self.settings.base_url}/s/{store.slug}/",
        }
        if store_data.get("business_phone") or store.business_phone:
            profile["support_phone"] = store_data.get("business_phone") or store.business_phone
        if store_data.get("product_description"):
            profile["product_description"] = store_data["product_description"]
        params: dict[str, Any] = {
            "type": "express",
            "country": store.country,
            "email": store_data.get("business_email") or store.business_email,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "business_type": business_type,
            "business_profile": profile,
            "metadata": {"store_id": str(store_id), "platform": PLATFORM_TAG},
        }
        account = await self.stripe.create_account(
            params,
            idempotency_key=idempotency_key("store", store.id, store.created_at, "account"),
            store_id=store_id,
        )
        config.stripe_account_id = account["id"]
        config.business_type = business_type
        self._apply_account_fields(config, account)
        return str(account["id"])

    async def create_onboarding_link(self, store_id: int) -> str:
        """A fresh single-use onboarding link (links expire after minutes, so never reuse one)."""
        config = await self.get_store_payment_config(store_id)
        if not config.stripe_account_id:
            raise PaymentNotConfigured("This store does not have a Stripe account yet")
        link = await self.stripe.create_account_link(
            {
                "account": config.stripe_account_id,
                "refresh_url": f"{self.settings.base_url}/admin/payments/onboarding/refresh",
                "return_url": f"{self.settings.base_url}/admin/payments/onboarding/return",
                "type": "account_onboarding",
            },
            store_id=store_id,
        )
        config.stripe_onboarding_url = link["url"]
        return str(link["url"])

    async def refresh_store_account(self, store_id: int) -> StorePaymentConfig:
        """Re-read the store's account from Stripe and apply it (return page, reconciliation)."""
        config = await self.get_store_payment_config(store_id)
        if not config.stripe_account_id:
            return config
        account = await self.stripe.retrieve_account(config.stripe_account_id, store_id=store_id)
        updated = await self.update_store_account_status(config.stripe_account_id, account)
        return updated or config

    async def update_store_account_status(
        self, account_id: str, account: dict[str, Any], *, event_created: int | None = None
    ) -> StorePaymentConfig | None:
        """Apply an Account object to the store that owns it; an older event than the last
        one applied is skipped, so out-of-order `account.updated` deliveries cannot regress it."""
        config = (
            await self.db.execute(
                select(StorePaymentConfig)
                .where(StorePaymentConfig.stripe_account_id == account_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if config is None:
            log.info("account %s is not one of ours; ignored", account_id)
            return None
        seen_at = datetime.fromtimestamp(event_created, UTC) if event_created else utcnow()
        if config.account_synced_at is not None and seen_at < config.account_synced_at:
            return config
        if config.stripe_account_status == AccountStatus.INACTIVE and event_created:
            return config  # deauthorized: only a fresh connection may revive it
        self._apply_account_fields(config, account)
        await notify.account_needs_information(self.db, config=config)
        config.account_synced_at = seen_at
        return config

    def _apply_account_fields(self, config: StorePaymentConfig, account: dict[str, Any]) -> None:
        requirements = account.get("requirements") or {}
        due = sorted(
            set(requirements.get("currently_due") or []) | set(requirements.get("past_due") or [])
        )
        config.charges_enabled = bool(account.get("charges_enabled"))
        config.payouts_enabled = bool(account.get("payouts_enabled"))
        config.details_submitted = bool(account.get("details_submitted"))
        config.requirements_due = json.dumps(due)
        config.disabled_reason = requirements.get("disabled_reason")
        config.stripe_account_status = account_status(account)
        config.accepts_payments = config.stripe_account_status == AccountStatus.ACTIVE

    async def mark_account_deauthorized(self, account_id: str) -> StorePaymentConfig | None:
        config = (
            await self.db.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.stripe_account_id == account_id)
            )
        ).scalar_one_or_none()
        if config is not None:
            config.stripe_account_status = AccountStatus.INACTIVE
            config.accepts_payments = False
            config.charges_enabled = False
            config.payouts_enabled = False
        return config

    async def create_dashboard_link(self, store_id: int) -> str:
        """A single-use link into the store's Express dashboard."""
        config = await self.get_store_payment_config(store_id)
        if not config.stripe_account_id or not config.details_submitted:
            raise Conflict("Finish onboarding before opening the Stripe dashboard")
        link = await self.stripe.create_login_link(config.stripe_account_id, store_id=store_id)
        return str(link["url"])

    # Checkout --------------------------------------------------------------------------------

    async def get_order_customer_id(self, order_id: int) -> int:
        customer_id = (
            await self.db.execute(select(Order.customer_id).where(Order.id == order_id))
        ).scalar_one_or_none()
        if customer_id is None:
            raise NotFound(f"No order with id {order_id}")
        return int(customer_id)

    async def create_payment_intent(
        self,
        *,
        store_id: int,
        order_id: int,
        shopper_customer_id: int | None = None,
        save_payment_method: bool = False,
        payment_method_id: int | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """The order's PaymentIntent (created once), with the API's response keys.

        The caller must hold the order's access token (checked here, on the locked row;
        another store's order, a wrong or missing token all answer 404). The amount,
        currency and fee come from the order and the store's configuration. Saving the
        card, or paying with a saved one, needs the shopper's own account session
        (`shopper_customer_id`) for the customer who placed the order.
        """
        # The order (locked) and its store's name; then, in a statement of its own so that
        # it sees what a concurrent call committed while we waited for the lock (READ
        # COMMITTED re-reads only the locked row), the configuration and any payment.
        ids = {"order_id": order_id, "store_id": store_id}
        found = (await self.db.execute(_ORDER_FOR_INTENT, ids)).one_or_none()
        if found is None or not orders.opens_order(
            found[0], access_token, self.settings.session_secret()
        ):
            raise NotFound(f"No order with id {order_id}")
        order, store_name = found
        row = (await self.db.execute(_CONFIG_AND_PAYMENT, ids)).one_or_none()
        config, payment = (row[0], row[1]) if row is not None else (None, None)
        if row is None or row[2] != StoreStatus.ACTIVE:
            raise PaymentsNotAccepted(
                f"{store_name} is not taking orders right now, so this order cannot be paid. "
                "No money has been taken."
            )
        if config is None or not config.accepts_payments or not config.stripe_account_id:
            raise PaymentsNotAccepted(
                f"{store_name} cannot take card payments right now, so this order cannot be "
                "paid. No money has been taken."
            )
        if order.payment_status not in (OrderPaymentStatus.PENDING, OrderPaymentStatus.FAILED):
            raise Conflict(f"Order #{order.number} is already {order.payment_status}")
        if order.status == OrderStatus.CANCELED:
            raise Conflict(f"Order #{order.number} was canceled")
        minimum = minimum_charge(order.currency)
        if order.total_amount_cents < minimum:
            raise BadRequest(
                f"The order total {format_amount(order.total_amount_cents, order.currency)} is "
                f"below the minimum card payment of {format_amount(minimum, order.currency)}",
                code="amount_too_small",
            )

        card_params = await self._card_params(
            order, shopper_customer_id, save_payment_method, payment_method_id
        )
        if payment is not None:
            intent = await self.stripe.retrieve_payment_intent(
                payment.stripe_payment_intent_id, order_id=order.id
            )
            if intent.get("status") == "canceled":
                raise Conflict(f"The payment of order #{order.number} was canceled")
            if card_params and intent.get("status") in (
                "requires_payment_method",
                "requires_confirmation",
            ):
                digest = hashlib.sha256(json.dumps(card_params, sort_keys=True).encode())
                intent = await self.stripe.update_payment_intent(
                    intent["id"],
                    card_params,
                    idempotency_key=idempotency_key(
                        "payment",
                        payment.id,
                        payment.created_at,
                        f"cards-{digest.hexdigest()[:16]}",
                    ),
                    order_id=order.id,
                )
                payment.save_payment_method = save_payment_method
            await self.apply_payment_intent(intent)
            return self.intent_response(payment, intent)

        split = split_platform_fee(
            order.total_amount_cents,
            config.platform_fee_percentage,
            config.platform_fixed_fee_amount,
        )
        metadata = {
            "store_id": str(store_id),
            "order_id": str(order.id),
            "order_number": str(order.number),
            "order_ref": order_ref(order),
            "platform": PLATFORM_TAG,
        }
        params: dict[str, Any] = {
            "amount": order.total_amount_cents,
            "currency": order.currency.lower(),
            "transfer_data": {"destination": config.stripe_account_id},
            "automatic_payment_methods": {"enabled": True},
            "metadata": metadata,
            "receipt_email": order.email,
            "description": f"Order #{order.number} at {store_name}",
        }
        if split.platform_fee > 0:
            params["application_fee_amount"] = split.platform_fee
        params.update(card_params)
        intent = await self.stripe.create_payment_intent(
            params,
            idempotency_key=idempotency_key("order", order.id, order.created_at, "payment-intent"),
            order_id=order.id,
            store_id=store_id,
        )
        payment = Payment(
            store_id=store_id,
            order_id=order.id,
            customer_id=order.customer_id,
            stripe_payment_intent_id=intent["id"],
            stripe_account_id=config.stripe_account_id,
            amount_total=split.total,
            amount_store=split.store_amount,
            amount_platform_fee=split.platform_fee,
            currency=order.currency,
            status=PaymentState.PENDING,
            stripe_metadata=json.dumps(metadata),
            save_payment_method=save_payment_method,
        )
        self.db.add(payment)
        order.payment_intent_id = intent["id"]
        await self.db.flush()
        return self.intent_response(payment, intent)

    async def _card_params(
        self,
        order: Order,
        shopper_customer_id: int | None,
        save_payment_method: bool,
        payment_method_id: int | None,
    ) -> dict[str, Any]:
        """`customer`, `setup_future_usage` and `payment_method` for a logged-in shopper."""
        if not save_payment_method and payment_method_id is None:
            return {}
        if shopper_customer_id is None or shopper_customer_id != order.customer_id:
            raise Forbidden(
                "Log in to your account (with the email of this order) to save or use a card",
                code="account_required",
            )
        customer = await customers.stripe_customer_for_order(self.db, self.stripe, order)
        if customer is None:
            raise Forbidden("Saved cards need a shopper account", code="account_required")
        params: dict[str, Any] = {"customer": customer}
        if save_payment_method:
            params["setup_future_usage"] = "off_session"
        if payment_method_id is not None:
            card = await customers.get_payment_method(
                self.db,
                store_id=order.store_id,
                customer_id=order.customer_id,
                payment_method_id=payment_method_id,
            )
            params["payment_method"] = card.stripe_payment_method_id
        return params

    def intent_response(self, payment: Payment, intent: StripeDict) -> dict[str, Any]:
        """Amounts in major units for display plus exact minor-unit integers."""
        currency = payment.currency
        return {
            "payment_intent_id": payment.stripe_payment_intent_id,
            "client_secret": intent.get("client_secret"),
            "status": payment.status,
            "amount_total": str(to_major(payment.amount_total, currency)),
            "amount_store": str(to_major(payment.amount_store, currency)),
            "platform_fee": str(to_major(payment.amount_platform_fee, currency)),
            "currency": currency,
            "amount_total_minor": payment.amount_total,
            "amount_store_minor": payment.amount_store,
            "platform_fee_minor": payment.amount_platform_fee,
            "publishable_key": self.stripe.keys.publishable_key,
            "payment_method": _id_of(intent.get("payment_method")),
            "save_payment_method": payment.save_payment_method,
        }

    # Applying Stripe's state -----------------------------------------------------------------

    async def confirm_payment(self, payment_intent_id: str) -> Payment:
        """Re-read the intent from Stripe and apply it (the redirect that beats the webhook)."""
        payment = await self._payment_by_intent(payment_intent_id)
        if payment is None:
            raise NotFound(f"No payment for intent {payment_intent_id}")
        intent = await self.stripe.retrieve_payment_intent(
            payment_intent_id, expand=["latest_charge"], order_id=payment.order_id
        )
        return await self.apply_payment_intent(intent) or payment

    async def _payment_by_intent(self, intent_id: str, *, lock: bool = False) -> Payment | None:
        query = select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
        if lock:
            query = query.with_for_update()
        return (await self.db.execute(query)).scalar_one_or_none()

    async def apply_payment_intent(self, intent: dict[str, Any]) -> Payment | None:
        """Move our payment and order to what the intent says, forward only.

        Locks the order, then the payment (FOR UPDATE OF orders, payments: PostgreSQL
        locks a joined row's tables in that order), as create-intent takes them, so a
        webhook and a shopper's repeated create-intent for one order cannot deadlock.
        One round trip for both rows: this runs for every payment webhook.

        The intent must carry our payment's amount, currency and transfer destination
        (the store's connected account), else EventRejected and nothing changes: an
        event's word is taken only for the payment it is really about.
        """
        found = (await self.db.execute(_LOCK_BY_INTENT, {"intent_id": intent["id"]})).one_or_none()
        if found is not None:
            order, payment = found
        else:
            recovered = await self._recover_payment(intent)
            if recovered is None:
                log.info("payment intent %s is not one of ours; ignored", intent["id"])
                return None
            payment = recovered
            order = await self.db.get_one(Order, payment.order_id)  # locked by the recovery
        check_charge_terms(
            intent,
            amount=payment.amount_total,
            currency=payment.currency,
            destination=payment.stripe_account_id,
        )
        new = state_of_intent(intent)
        if intent.get("status") == "requires_action" and payment.status in ACTION_MAY_HELP:
            # 3-D Secure is pending: if the shopper does not finish it, a mail brings them back.
            await notify.payment_needs_action(
                self.db, order=order, delay_seconds=self.settings.payment_action_mail_delay_seconds
            )
        if new == PaymentState.FAILED and payment.status == PaymentState.FAILED:
            self._record_failure(payment, intent)  # a later attempt's message replaces the last
            return payment
        if not may_move(payment.status, new):
            return payment
        payment.status = new
        if new == PaymentState.SUCCEEDED:
            payment.paid_at = payment.paid_at or utcnow()
            payment.failure_code = None
            payment.failure_reason = None
            charge = intent.get("latest_charge")
            payment.stripe_charge_id = _id_of(charge) or payment.stripe_charge_id
            if isinstance(charge, dict):
                self._apply_charge_fields(payment, charge)
            orders.mark_order_paid(order, paid_at=payment.paid_at)
            await notify.order_paid(self.db, order=order, payment=payment)
        elif new == PaymentState.FAILED:
            self._record_failure(payment, intent)
            await orders.mark_order_payment_failed(self.db, order_id=payment.order_id)
        elif new == PaymentState.CANCELED:
            await self._cancel_unpaid_order(payment)
        return payment

    async def _recover_payment(self, intent: dict[str, Any]) -> Payment | None:
        """Record a payment we created at Stripe but never stored (the process died between
        the Stripe call and the commit). Our metadata on the intent names the order; if the
        order is not visible yet, raise so the webhook inbox retries later. The intent must
        be the one create-intent makes for that order: the order's amount and currency,
        paid to its store's connected account, with a fee within the amount; anything else
        is EventRejected (metadata is only a claim)."""
        metadata = intent.get("metadata") or {}
        if (
            metadata.get("platform") != PLATFORM_TAG
            or not str(metadata.get("order_id", "")).isdigit()
        ):
            return None
        order_id = int(metadata["order_id"])
        # Lock order, then payment (the order create-intent takes them in): a webhook that
        # arrives while create-intent still holds the order waits for it here, then finds
        # the payment it stored, instead of racing it for the same row.
        order = (
            await self.db.execute(select(Order).where(Order.id == order_id).with_for_update())
        ).scalar_one_or_none()
        if order is None:
            raise PaymentNotYetRecorded(
                f"Intent {intent['id']} names order {order_id}, which is not in the database yet"
            )
        if metadata.get("order_ref") != order_ref(order) or str(order.store_id) != str(
            metadata.get("store_id")
        ):
            # Same id, another order (a database restored or reset since): not ours to touch.
            log.warning(
                "intent %s names order %s but not this one; ignored", intent["id"], order_id
            )
            return None
        stored = await self._payment_by_intent(intent["id"], lock=True)
        if stored is not None:
            return stored
        store_account = (
            await self.db.execute(
                select(StorePaymentConfig.stripe_account_id).where(
                    StorePaymentConfig.store_id == order.store_id
                )
            )
        ).scalar_one_or_none()
        check_charge_terms(
            intent,
            amount=order.total_amount_cents,
            currency=order.currency,
            destination=store_account,
        )
        total = int(intent["amount"])
        fee = intent.get("application_fee_amount") or 0
        if not isinstance(fee, int) or not 0 <= fee <= total:
            raise EventRejected(
                f"intent {intent['id']}: application fee {fee!r} is not within its amount {total}"
            )
        destination = destination_of(intent)
        await self.db.execute(
            dialect_insert(self.db, Payment)
            .values(
                store_id=order.store_id,
                order_id=order.id,
                customer_id=order.customer_id,
                stripe_payment_intent_id=intent["id"],
                stripe_account_id=destination or "",
                amount_total=total,
                amount_store=total - fee,
                amount_platform_fee=fee,
                amount_refunded=0,
                currency=str(intent.get("currency", order.currency)).upper(),
                status=PaymentState.PENDING,
                stripe_metadata=json.dumps(metadata),
                save_payment_method=False,
                disputed=False,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        if order.payment_intent_id is None:
            order.payment_intent_id = intent["id"]
        log.warning("recovered payment record of intent %s for order %s", intent["id"], order.id)
        return await self._payment_by_intent(intent["id"], lock=True)

    def _record_failure(self, payment: Payment, intent: dict[str, Any]) -> None:
        error = intent.get("last_payment_error") or {}
        payment.failure_code = error.get("decline_code") or error.get("code")
        payment.failure_reason = error.get("message") or "The payment was declined"

    async def _cancel_unpaid_order(self, payment: Payment) -> None:
        await self.db.execute(
            update(Order)
            .where(
                Order.id == payment.order_id,
                Order.status == OrderStatus.PENDING,
                Order.payment_status.in_((OrderPaymentStatus.PENDING, OrderPaymentStatus.FAILED)),
            )
            .values(status=OrderStatus.CANCELED, canceled_at=utcnow(), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await orders.release_stock(self.db, order_id=payment.order_id)

    async def apply_charge(self, charge: dict[str, Any]) -> Payment | None:
        """Record a charge's ids and card details on its payment (any order of events)."""
        intent_id = _id_of(charge.get("payment_intent"))
        if not intent_id:
            return None
        payment = await self._payment_by_intent(intent_id, lock=True)
        if payment is None:
            return None
        check_charge_terms(
            charge,
            amount=payment.amount_total,
            currency=payment.currency,
            destination=payment.stripe_account_id,
        )
        if charge.get("status") == "succeeded" or charge.get("paid"):
            payment.stripe_charge_id = charge["id"]
            self._apply_charge_fields(payment, charge)
        return payment

    def _apply_charge_fields(self, payment: Payment, charge: dict[str, Any]) -> None:
        payment.stripe_transfer_id = _id_of(charge.get("transfer")) or payment.stripe_transfer_id
        payment.stripe_application_fee_id = (
            _id_of(charge.get("application_fee")) or payment.stripe_application_fee_id
        )
        details = charge.get("payment_method_details") or {}
        payment.payment_method = details.get("type") or payment.payment_method
        card = details.get("card") or {}
        payment.card_brand = card.get("brand") or payment.card_brand
        payment.card_last4 = card.get("last4") or payment.card_last4
