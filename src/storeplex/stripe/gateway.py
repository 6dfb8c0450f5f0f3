"""The Stripe gateway: one `StripeClient`, typed async methods, one log line per call.

Every call goes through `StripeGateway._call`, which times it, counts it by
operation and outcome in Prometheus, logs `stripe.<operation>` with our ids
(never a key), and turns Stripe's exceptions into `StripeCallError`s with a
message a person can act on. Idempotency keys are made by the callers from our
own ids, so a retried request never creates a second object.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from prometheus_client import Counter, Histogram

from storeplex.config import Settings
from storeplex.errors import StoreplexError
from storeplex.stripe.keys import StripeKeys, resolve_keys

log = logging.getLogger("storeplex.stripe")

STRIPE_CALLS = Counter(
    "storeplex_stripe_calls_total", "Calls to the Stripe API", ["operation", "outcome"]
)
STRIPE_LATENCY = Histogram(
    "storeplex_stripe_call_duration_seconds",
    "Latency of Stripe API calls, retries included",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

StripeDict = dict[str, Any]


class StripeCallError(StoreplexError):
    """A Stripe call failed; `stripe_code`/`decline_code` say how, `message` says it to people."""

    status_code = 502
    code = "payment_provider_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 502,
        code: str = "payment_provider_error",
        stripe_code: str | None = None,
        decline_code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, code=code, field=param)
        self.status_code = status_code
        self.stripe_code = stripe_code
        self.decline_code = decline_code


def _translate(exc: stripe.StripeError) -> StripeCallError:
    message = getattr(exc, "user_message", None) or str(exc.user_message or "") or "Stripe error"
    stripe_code = getattr(exc, "code", None)
    if isinstance(exc, stripe.CardError):
        return StripeCallError(
            message,
            status_code=402,
            code="card_declined",
            stripe_code=stripe_code,
            decline_code=getattr(exc, "error", None) and exc.error.decline_code,  # type: ignore[union-attr]
        )
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError | stripe.APIError):
        return StripeCallError(
            "The payment provider is not answering right now; please try again in a moment.",
            status_code=503,
            code="payment_provider_unavailable",
            stripe_code=stripe_code,
        )
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeCallError(
            "The platform's payment settings are not valid; the operator has been told.",
            status_code=503,
            code="payment_provider_misconfigured",
        )
    if isinstance(exc, stripe.IdempotencyError):
        return StripeCallError(
            "A conflicting request is already in progress; please try again.",
            status_code=409,
            code="idempotency_conflict",
            stripe_code=stripe_code,
        )
    return StripeCallError(
        f"The payment provider refused the request: {message}",
        status_code=502,
        stripe_code=stripe_code,
        param=getattr(exc, "param", None),
    )


def _plain(obj: Any) -> StripeDict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    """All of Storeplex's Stripe calls. Built once per process from settings."""

    def __init__(self, settings: Settings, keys: StripeKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or resolve_keys(settings)
        base = settings.resolved_stripe_api_base
        self.client = stripe.StripeClient(
            self.keys.secret_key,
            stripe_version=settings.stripe_api_version,
            base_addresses={"api": base, "connect": base, "files": base},
            max_network_retries=settings.stripe_max_network_retries,
            http_client=stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds),
        )
        self.livemode = self.keys.secret_key.startswith(("sk_live_", "rk_live_"))
        self._platform_country: str | None = None

    async def _call(
        self,
        operation: str,
        fn: Callable[..., Awaitable[Any]],
        *args: str,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        stripe_account: str | None = None,
        ids: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> StripeDict:
        options: dict[str, Any] = {}
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        if stripe_account:
            options["stripe_account"] = stripe_account
        started = time.perf_counter()
        outcome = "ok"
        try:
            if params is not None:
                kwargs["params"] = params
            result = await fn(*args, **kwargs, options=options)
            return _plain(result)
        except stripe.StripeError as exc:
            outcome = type(exc).__name__
            error = _translate(exc)
            log.warning(
                "stripe.%s failed",
                operation,
                extra={
                    "fields": {
                        "operation": operation,
                        "error": outcome,
                        "stripe_code": error.stripe_code,
                        "request_id": getattr(exc, "request_id", None),
                        **(ids or {}),
                    }
                },
            )
            raise error from None
        finally:
            elapsed = time.perf_counter() - started
            STRIPE_CALLS.labels(operation, outcome).inc()
            STRIPE_LATENCY.labels(operation).observe(elapsed)
            if outcome == "ok":
                log.info(
                    "stripe.%s",
                    operation,
                    extra={
                        "fields": {
                            "operation": operation,
                            "ms": round(elapsed * 1000, 1),
                            "account": stripe_account,
                            **(ids or {}),
                        }
                    },
                )

    # Connect accounts ------------------------------------------------------------------------

    async def create_account(
        self, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "account.create", self.client.v1.accounts.create_async, params=params,
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def platform_country(self) -> str:
        """The country of the platform's own Stripe account (read once, then kept)."""
        if self._platform_country is None:
            account = await self._call(
                "account.retrieve_current", self.client.v1.accounts.retrieve_current_async
            )
            self._platform_country = str(account["country"]).upper()
        return self._platform_country

    async def retrieve_account(self, account_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "account.retrieve", self.client.v1.accounts.retrieve_async, account_id, ids=ids
        )

    async def update_account(
        self,
        account_id: str,
        params: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        **ids: Any,
    ) -> StripeDict:
        return await self._call(
            "account.update", self.client.v1.accounts.update_async, account_id,
            params=params, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def create_account_link(self, params: dict[str, Any], **ids: Any) -> StripeDict:
        return await self._call(
            "account_link.create", self.client.v1.account_links.create_async, params=params, ids=ids
        )

    async def create_login_link(self, account_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "login_link.create", self.client.v1.accounts.login_links.create_async,
            account_id, ids=ids,
        )  # fmt: skip

    # Payment intents -------------------------------------------------------------------------

    async def create_payment_intent(
        self, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "payment_intent.create", self.client.v1.payment_intents.create_async, params=params,
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def retrieve_payment_intent(
        self, intent_id: str, *, expand: list[str] | None = None, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "payment_intent.retrieve", self.client.v1.payment_intents.retrieve_async,
            intent_id, params={"expand": expand} if expand else None, ids=ids,
        )  # fmt: skip

    async def update_payment_intent(
        self, intent_id: str, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "payment_intent.update", self.client.v1.payment_intents.update_async,
            intent_id, params=params, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def cancel_payment_intent(
        self, intent_id: str, *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "payment_intent.cancel", self.client.v1.payment_intents.cancel_async,
            intent_id, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def retrieve_charge(self, charge_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "charge.retrieve", self.client.v1.charges.retrieve_async, charge_id, ids=ids
        )

    # Webhook endpoints (emulator mode registers its own, as `stripe listen` would) ---------

    async def list_webhook_endpoints(self) -> StripeDict:
        return await self._call(
            "webhook_endpoint.list", self.client.v1.webhook_endpoints.list_async,
            params={"limit": 100},
        )  # fmt: skip

    async def delete_webhook_endpoint(self, endpoint_id: str) -> StripeDict:
        return await self._call(
            "webhook_endpoint.delete", self.client.v1.webhook_endpoints.delete_async,
            endpoint_id,
        )  # fmt: skip

    async def create_webhook_endpoint(self, params: dict[str, Any]) -> StripeDict:
        return await self._call(
            "webhook_endpoint.create", self.client.v1.webhook_endpoints.create_async, params=params
        )

    # Money after the sale (refunds, disputes, saved cards, payouts) ---------------------------

    async def create_refund(
        self,
        params: dict[str, Any],
        *,
        idempotency_key: str,
        **ids: Any,
    ) -> StripeDict:
        return await self._call(
            "refund.create", self.client.v1.refunds.create_async, params=params,
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def retrieve_refund(
        self, stripe_refund_id: str, *, expand: list[str] | None = None, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "refund.retrieve", self.client.v1.refunds.retrieve_async, stripe_refund_id,
            params={"expand": expand} if expand else None, ids=ids,
        )  # fmt: skip

    async def list_refunds(self, params: dict[str, Any], **ids: Any) -> StripeDict:
        return await self._call(
            "refund.list", self.client.v1.refunds.list_async, params=params, ids=ids
        )

    async def retrieve_application_fee(self, fee_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "application_fee.retrieve", self.client.v1.application_fees.retrieve_async,
            fee_id, ids=ids,
        )  # fmt: skip

    async def list_fee_refunds(self, fee_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "application_fee.refunds.list", self.client.v1.application_fees.refunds.list_async,
            fee_id, params={"limit": 100}, ids=ids,
        )  # fmt: skip

    async def retrieve_dispute(self, stripe_dispute_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "dispute.retrieve", self.client.v1.disputes.retrieve_async, stripe_dispute_id, ids=ids
        )

    async def upload_file(
        self, data: bytes, *, filename: str, purpose: str, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        """Upload a file to Stripe's Files API (the SDK sends it to the `files` base)."""
        blob = io.BytesIO(data)
        blob.name = filename
        return await self._call(
            "file.create", self.client.v1.files.create_async,
            params={"purpose": purpose, "file": blob},
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def update_dispute(
        self, stripe_dispute_id: str, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        """Save evidence on a dispute (`submit` false: staged; true: sent to the issuer)."""
        return await self._call(
            "dispute.update", self.client.v1.disputes.update_async, stripe_dispute_id,
            params=params, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def create_transfer_reversal(
        self, transfer_id: str, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "transfer_reversal.create", self.client.v1.transfers.reversals.create_async,
            transfer_id, params=params, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def create_transfer(
        self, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "transfer.create", self.client.v1.transfers.create_async, params=params,
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def create_customer(
        self, params: dict[str, Any], *, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "customer.create", self.client.v1.customers.create_async, params=params,
            idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def retrieve_payment_method(self, payment_method_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "payment_method.retrieve", self.client.v1.payment_methods.retrieve_async,
            payment_method_id, ids=ids,
        )  # fmt: skip

    async def detach_payment_method(self, payment_method_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "payment_method.detach", self.client.v1.payment_methods.detach_async,
            payment_method_id, ids=ids,
        )  # fmt: skip

    async def update_customer(
        self, customer_id: str, params: dict[str, Any], **ids: Any
    ) -> StripeDict:
        return await self._call(
            "customer.update", self.client.v1.customers.update_async, customer_id,
            params=params, ids=ids,
        )  # fmt: skip

    async def retrieve_balance(self, *, stripe_account: str, **ids: Any) -> StripeDict:
        return await self._call(
            "balance.retrieve", self.client.v1.balance.retrieve_async,
            stripe_account=stripe_account, ids=ids,
        )  # fmt: skip

    async def create_payout(
        self, params: dict[str, Any], *, stripe_account: str, idempotency_key: str, **ids: Any
    ) -> StripeDict:
        return await self._call(
            "payout.create", self.client.v1.payouts.create_async, params=params,
            stripe_account=stripe_account, idempotency_key=idempotency_key, ids=ids,
        )  # fmt: skip

    async def list_payouts(
        self, *, stripe_account: str, starting_after: str | None = None, **ids: Any
    ) -> StripeDict:
        params: dict[str, Any] = {"limit": 100}
        if starting_after:
            params["starting_after"] = starting_after
        return await self._call(
            "payout.list", self.client.v1.payouts.list_async, params=params,
            stripe_account=stripe_account, ids=ids,
        )  # fmt: skip

    async def list_disputes(
        self, *, created_gte: int, starting_after: str | None = None, **ids: Any
    ) -> StripeDict:
        params: dict[str, Any] = {"limit": 100, "created": {"gte": created_gte}}
        if starting_after:
            params["starting_after"] = starting_after
        return await self._call(
            "dispute.list", self.client.v1.disputes.list_async, params=params, ids=ids
        )

    async def retrieve_transfer(self, transfer_id: str, **ids: Any) -> StripeDict:
        return await self._call(
            "transfer.retrieve", self.client.v1.transfers.retrieve_async, transfer_id, ids=ids
        )


def signature_is_valid(payload: str, header: str, secret: str, tolerance_seconds: int) -> bool:
    """A Stripe-Signature header checked by the SDK: a v1 HMAC of this payload with this
    secret, dated no older than the tolerance (the caller refuses future dates)."""
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance_seconds)
    except stripe.SignatureVerificationError:
        return False
    return True
