"""Connect accounts (Express), account links, login links and hosted onboarding.

A platform account exists for every secret key (created on first use).  A
connected account belongs to exactly one platform; requirements, capabilities
and ``charges_enabled``/``payouts_enabled`` only turn on when onboarding is
completed on the hosted page (or with the ``/_emulator/accounts/{id}/onboard``
shortcut).  Every change on a connected account emits ``account.updated`` on
that account (delivered to Connect endpoints).
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.core import PAGING, Ctx, changed, emit, list_object, route
from stripe_emulator.geography import account_creation_error, transfer_error
from stripe_emulator.schema import conform
from stripe_emulator.state import State, Stored
from stripe_emulator.wire import Params, StripeError, check_unknown, invalid, merge_metadata

COUNTRY_CURRENCY = {
    "US": "usd",
    "GB": "gbp",
    "JP": "jpy",
    "CH": "chf",
    "CA": "cad",
    "AU": "aud",
    "NZ": "nzd",
    "SG": "sgd",
    "HK": "hkd",
    "DK": "dkk",
    "NO": "nok",
    "SE": "sek",
    "PL": "pln",
    "CZ": "czk",
    "HU": "huf",
    "RO": "ron",
    "BG": "bgn",
    "MX": "mxn",
    "BR": "brl",
    "IN": "inr",
}
EUR_COUNTRIES = set(
    [
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
    ]
)
BUSINESS_TYPES = ("individual", "company", "non_profit", "government_entity")
CAPABILITIES = (
    "card_payments",
    "transfers",
    "sepa_debit_payments",
    "bancontact_payments",
    "ideal_payments",
    "link_payments",
    "klarna_payments",
    "giropay_payments",
)

ADDRESS = {
    "city": True,
    "country": True,
    "line1": True,
    "line2": True,
    "postal_code": True,
    "state": True,
}
SCHEDULE = {"delay_days": True, "interval": True, "monthly_anchor": True, "weekly_anchor": True}
ACCOUNT_SPEC: dict[str, Any] = {
    "type": True,
    "country": True,
    "email": True,
    "business_type": True,
    "default_currency": True,
    "metadata": "any",
    "controller": "any",
    "business_profile": {
        "mcc": True,
        "name": True,
        "product_description": True,
        "support_email": True,
        "support_phone": True,
        "support_url": True,
        "url": True,
        "support_address": ADDRESS,
        "estimated_worker_count": True,
        "annual_revenue": "any",
        "minority_owned_business_designation": "any",
    },
    "capabilities": {name: {"requested": True} for name in CAPABILITIES},
    "settings": {
        "payouts": {
            "schedule": SCHEDULE,
            "statement_descriptor": True,
            "debit_negative_balances": True,
        },
        "payments": "any",
        "branding": "any",
        "card_payments": "any",
        "dashboard": "any",
    },
    "tos_acceptance": {"date": True, "ip": True, "user_agent": True, "service_agreement": True},
    "individual": "any",
    "company": "any",
    "external_account": "any",
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def default_currency(country: str) -> str:
    if country in EUR_COUNTRIES:
        return "eur"
    return COUNTRY_CURRENCY.get(country, "usd")


def initial_requirements(business_type: str | None) -> list[str]:
    who = "representative" if business_type == "company" else "individual"
    fields = ["business_profile.mcc", "business_profile.url", "external_account"]
    if business_type is None:
        fields.insert(0, "business_type")
    if business_type == "company":
        fields += [
            "company.address.city",
            "company.address.line1",
            "company.name",
            "company.tax_id",
            "owners.first_name",
            "owners.last_name",
        ]
    fields += [
        f"{who}.address.city",
        f"{who}.address.line1",
        f"{who}.address.postal_code",
        f"{who}.dob.day",
        f"{who}.dob.month",
        f"{who}.dob.year",
        f"{who}.email",
        f"{who}.first_name",
        f"{who}.last_name",
        f"{who}.phone",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]
    return sorted(fields)


def requirements(
    due: list[str], disabled_reason: str | None, past_due: bool = True
) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": disabled_reason,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due) if past_due else [],
        "pending_verification": [],
    }


def _profile(p: Params, current: dict[str, Any] | None = None) -> dict[str, Any]:
    base: dict[str, Any] = current or {
        "annual_revenue": None,
        "estimated_worker_count": None,
        "mcc": None,
        "minority_owned_business_designation": None,
        "name": None,
        "product_description": None,
        "support_address": None,
        "support_email": None,
        "support_phone": None,
        "support_tos_url": None,
        "support_url": None,
        "url": None,
    }
    for key, value in p.data.items():
        if key == "support_address" and isinstance(value, dict):
            addr = dict.fromkeys(ADDRESS)
            addr.update(value)
            base[key] = addr
        elif key == "estimated_worker_count":
            base[key] = p.int(key)
        else:
            base[key] = value if value != "" else None
    return base


def _schedule(p: Params, current: dict[str, Any]) -> dict[str, Any]:
    schedule = dict(current)
    interval = p.str("interval", choices=("manual", "daily", "weekly", "monthly"))
    if interval:
        schedule["interval"] = interval
        schedule.pop("weekly_anchor", None)
        schedule.pop("monthly_anchor", None)
    if "delay_days" in p:
        raw = p.raw("delay_days")
        schedule["delay_days"] = 2 if raw == "minimum" else p.int("delay_days", minimum=0)
    if schedule["interval"] == "weekly":
        anchor = p.str("weekly_anchor", choices=WEEKDAYS) or schedule.get("weekly_anchor")
        schedule["weekly_anchor"] = anchor or "monday"
    elif "weekly_anchor" in p:
        raise invalid(
            "You can only set weekly_anchor when interval is weekly.",
            "settings[payouts][schedule][weekly_anchor]",
        )
    if schedule["interval"] == "monthly":
        anchor_int = p.int("monthly_anchor")
        if anchor_int is not None and not 1 <= anchor_int <= 31:
            raise invalid(
                "monthly_anchor must be between 1 and 31",
                "settings[payouts][schedule][monthly_anchor]",
            )
        schedule["monthly_anchor"] = anchor_int or schedule.get("monthly_anchor") or 1
    elif "monthly_anchor" in p:
        raise invalid(
            "You can only set monthly_anchor when interval is monthly.",
            "settings[payouts][schedule][monthly_anchor]",
        )
    return schedule


def build_account(
    state: State,
    acct_id: str,
    *,
    account_type: str,
    country: str,
    email: str | None,
    business_type: str | None,
    controller: dict[str, Any] | None,
) -> dict[str, Any]:
    currency = default_currency(country)
    return conform(
        {
            "id": acct_id,
            "object": "account",
            "business_profile": _profile(Params({})),
            "business_type": business_type,
            "capabilities": {},
            "charges_enabled": False,
            "controller": controller
            or {
                "fees": {"payer": "application"},
                "is_controller": True,
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
                "type": "application",
            },
            "country": country,
            "created": state.now(),
            "default_currency": currency,
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/accounts/{acct_id}/external_accounts",
            },
            "future_requirements": requirements([], None, past_due=False),
            "metadata": {},
            "payouts_enabled": False,
            "requirements": requirements(
                initial_requirements(business_type), "requirements.past_due"
            ),
            "settings": {
                "bacs_debit_payments": {"display_name": None, "service_user_number": None},
                "branding": {
                    "icon": None,
                    "logo": None,
                    "primary_color": None,
                    "secondary_color": None,
                },
                "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
                "card_payments": {
                    "decline_on": {"avs_failure": False, "cvc_failure": False},
                    "statement_descriptor_prefix": None,
                    "statement_descriptor_prefix_kana": None,
                    "statement_descriptor_prefix_kanji": None,
                },
                "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
                "invoices": {
                    "default_account_tax_ids": None,
                    "hosted_payment_method_save": "offer",
                },
                "payments": {
                    "statement_descriptor": None,
                    "statement_descriptor_kana": None,
                    "statement_descriptor_kanji": None,
                    "statement_descriptor_prefix_kana": None,
                    "statement_descriptor_prefix_kanji": None,
                },
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                },
                "sepa_debit_payments": {},
            },
            "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
            "type": account_type,
        }
    )


def ensure_platform(state: State, acct_id: str, country: str = "LU") -> Stored:
    """The platform account for a key: created fully enabled, in the key's country, on first use."""
    stored = state.get(acct_id)
    if stored is not None:
        return stored
    obj = build_account(
        state,
        acct_id,
        account_type="standard",
        country=country,
        email=None,
        business_type="company",
        controller={"type": "account"},
    )
    obj.update(
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        capabilities={"card_payments": "active", "transfers": "active"},
        requirements=requirements([], None, past_due=False),
    )
    obj["settings"]["payouts"]["schedule"] = {"delay_days": 2, "interval": "manual"}
    return state.add(obj, acct_id, platform=None, last_payout_check=obj["created"])


def connected_of(ctx: Ctx, acct_id: str, param: str = "account") -> Stored:
    """A connected account of the calling platform, else Stripe's 403/404."""
    stored = ctx.state.get(acct_id)
    if stored is None or stored.obj.get("object") != "account" or stored.private.get("deleted"):
        raise StripeError(
            404 if param == "id" else 400,
            f"No such account: '{acct_id}'",
            param=param,
            code="resource_missing",
        )
    if stored.private.get("platform") != ctx.platform and acct_id != ctx.platform:
        raise account_invalid(acct_id)
    if stored.private.get("deauthorized"):
        raise account_invalid(acct_id)
    return stored


def account_invalid(acct_id: str) -> StripeError:
    return StripeError(
        403,
        "The provided key does not have access to account "
        f"'{acct_id}' (or that account does not exist). "
        "Application access may have been revoked.",
        type="invalid_request_error",
        code="account_invalid",
    )


def notify(ctx_state: State, stored: Stored, before: dict[str, Any]) -> None:
    """Emit ``account.updated`` for a connected account if anything changed."""
    platform = stored.private.get("platform")
    if not platform:
        return
    previous = changed(before, stored.obj)
    if previous:
        emit(
            ctx_state,
            platform,
            "account.updated",
            stored.obj,
            account=stored.obj["id"],
            previous=previous,
        )


def _apply_update(ctx: Ctx, stored: Stored, p: Params) -> None:
    obj = stored.obj
    if "email" in p:
        obj["email"] = p.str("email")
    if "business_type" in p:
        obj["business_type"] = p.str("business_type", choices=BUSINESS_TYPES)
        if not obj["details_submitted"]:
            due = initial_requirements(obj["business_type"])
            obj["requirements"] = requirements(due, "requirements.past_due")
    if "default_currency" in p:
        obj["default_currency"] = (p.req_str("default_currency")).lower()
    if "business_profile" in p:
        obj["business_profile"] = _profile(p.hash("business_profile"), obj["business_profile"])
    obj["metadata"] = merge_metadata(obj["metadata"], p.metadata())
    caps = p.hash("capabilities")
    for name in caps.data:
        requested = caps.hash(name).bool("requested")
        if requested and name == "card_payments":
            refused = account_creation_error(
                obj["country"],
                obj["country"],
                stored.private.get("service_agreement", "full"),
                True,
            )
            if refused is not None:
                raise refused
        if requested and name not in obj["capabilities"]:
            obj["capabilities"][name] = "active" if obj["charges_enabled"] else "inactive"
        elif requested is False:
            obj["capabilities"].pop(name, None)
    schedule = p.hash("settings").hash("payouts").hash("schedule")
    if schedule.data:
        settings = copy.deepcopy(obj["settings"])
        settings["payouts"]["schedule"] = _schedule(schedule, settings["payouts"]["schedule"])
        obj["settings"] = settings
    sd = p.hash("settings").hash("payouts").str("statement_descriptor")
    if sd is not None:
        obj["settings"]["payouts"]["statement_descriptor"] = sd
    tos = p.hash("tos_acceptance")
    if tos.data:
        obj["tos_acceptance"] = {
            "date": tos.int("date"),
            "ip": tos.str("ip"),
            "user_agent": tos.str("user_agent"),
        }
        if stored.private.get("service_agreement") == "recipient":
            obj["tos_acceptance"]["service_agreement"] = "recipient"


@route("POST", "/v1/accounts")
def create_account(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, ACCOUNT_SPEC)
    if ctx.on_connected:
        raise invalid("You cannot create connected accounts on behalf of a connected account.")
    controller = p.hash("controller")
    account_type = p.str("type", choices=("express", "standard", "custom"))
    if account_type is None:
        if not controller.data:
            raise invalid(
                "You must specify either `type` or `controller` when creating an account.", "type"
            )
        dash = controller.hash("stripe_dashboard").str("type")
        account_type = {"express": "express", "full": "standard"}.get(dash or "", "custom")
    platform_obj = ctx.state.get(ctx.platform)
    platform_country = platform_obj.obj["country"] if platform_obj else "LU"
    country = (p.str("country") or platform_country).upper()
    if len(country) != 2:
        raise invalid(f"Invalid country: {country}", "country")
    agreement = (
        p.hash("tos_acceptance").str("service_agreement", choices=("full", "recipient")) or "full"
    )
    card_payments = p.hash("capabilities").hash("card_payments").bool("requested") is True
    refused = account_creation_error(platform_country, country, agreement, card_payments)
    if refused is not None:
        raise refused
    business_type = p.str("business_type")
    if business_type is not None and business_type not in BUSINESS_TYPES:
        raise invalid(
            f"Invalid business_type: must be one of {', '.join(BUSINESS_TYPES)}", "business_type"
        )
    acct_id = ctx.state.new_id("acct", 16)
    obj = build_account(
        ctx.state,
        acct_id,
        account_type=account_type,
        country=country,
        email=p.str("email"),
        business_type=business_type,
        controller=None,
    )
    obj["controller"]["stripe_dashboard"] = {
        "type": {"express": "express", "standard": "full"}.get(account_type, "none")
    }
    stored = ctx.state.add(
        obj,
        ctx.platform,
        platform=ctx.platform,
        last_payout_check=obj["created"],
        service_agreement=agreement,
    )
    _apply_update(ctx, stored, p)
    return obj


def _account_for_path(ctx: Ctx) -> Stored:
    acct_id = ctx.args["id"]
    if ctx.on_connected and acct_id != ctx.account:
        raise account_invalid(acct_id)
    return connected_of(ctx, acct_id, "id")


@route("GET", "/v1/account")
def retrieve_own_account(ctx: Ctx) -> dict[str, Any]:
    return ctx.state.get(ctx.account).obj  # type: ignore[union-attr]


@route("GET", "/v1/accounts/{id}")
def retrieve_account(ctx: Ctx) -> dict[str, Any]:
    return _account_for_path(ctx).obj


@route("POST", "/v1/accounts/{id}")
def update_account(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, ACCOUNT_SPEC)
    stored = _account_for_path(ctx)
    for frozen in ("type", "country", "controller"):
        if frozen in ctx.params:
            raise invalid(f"You cannot change `{frozen}` of an account.", frozen)
    before = copy.deepcopy(stored.obj)
    _apply_update(ctx, stored, ctx.params)
    notify(ctx.state, stored, before)
    return stored.obj


@route("DELETE", "/v1/accounts/{id}")
def delete_account(ctx: Ctx) -> dict[str, Any]:
    stored = _account_for_path(ctx)
    if stored.obj["id"] == ctx.platform:
        raise invalid("You cannot delete your own account.")
    stored.private["deleted"] = True
    return {"id": stored.obj["id"], "object": "account", "deleted": True}


@route("GET", "/v1/accounts", query=PAGING)
def list_accounts(ctx: Ctx) -> dict[str, Any]:
    items = [
        s.obj
        for s in ctx.state.all_of(ctx.platform, "account")
        if s.obj["id"] != ctx.platform and not s.private.get("deauthorized")
    ]
    return list_object(ctx, items, "/v1/accounts")


@route("GET", "/v1/accounts/{id}/external_accounts", query=(*PAGING, "object"))
def list_external_accounts(ctx: Ctx) -> dict[str, Any]:
    stored = _account_for_path(ctx)
    return list_object(
        ctx,
        stored.obj["external_accounts"]["data"],
        f"/v1/accounts/{stored.obj['id']}/external_accounts",
    )


@route("GET", "/v1/accounts/{id}/capabilities")
def list_capabilities(ctx: Ctx) -> dict[str, Any]:
    stored = _account_for_path(ctx)
    acct = stored.obj
    data = [
        conform(
            {
                "id": name,
                "object": "capability",
                "account": acct["id"],
                "requested": True,
                "requested_at": acct["created"],
                "status": status,
                "requirements": acct["requirements"],
                "future_requirements": acct["future_requirements"],
            }
        )
        for name, status in acct["capabilities"].items()
    ]
    return list_object(ctx, data, f"/v1/accounts/{acct['id']}/capabilities", paginate=False)


@route("POST", "/v1/accounts/{id}/login_links")
def create_login_link(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"redirect_url": True})
    stored = _account_for_path(ctx)
    if stored.obj["type"] != "express":
        raise invalid("Login links can only be created for Express accounts.", "account")
    if not stored.obj["details_submitted"]:
        raise invalid(
            "Cannot create a login link for an account that has not completed onboarding.",
            "account",
        )
    token = ctx.state.secret(24)
    ctx.state.tokens[token] = {"kind": "express_dashboard", "account": stored.obj["id"]}
    return conform(
        {
            "object": "login_link",
            "created": ctx.now,
            "url": ctx.url(f"/_emulator/hosted/express/{token}"),
        }
    )


@route("POST", "/v1/account_links")
def create_account_link(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "account": True,
            "refresh_url": True,
            "return_url": True,
            "type": True,
            "collect": True,
            "collection_options": "any",
        },
    )
    acct_id = p.req_str("account")
    link_type = p.req_str("type", choices=("account_onboarding", "account_update"))
    refresh_url = p.str("refresh_url")
    return_url = p.str("return_url")
    if not refresh_url:
        raise StripeError(
            400,
            "Missing required param: refresh_url.",
            param="refresh_url",
            code="parameter_missing",
        )
    if not return_url:
        raise StripeError(
            400, "Missing required param: return_url.", param="return_url", code="parameter_missing"
        )
    stored = connected_of(ctx, acct_id)
    if stored.obj["id"] == ctx.platform:
        raise invalid("You cannot create an account link for your own account.", "account")
    if link_type == "account_update" and stored.obj["type"] != "custom":
        raise invalid(
            "You cannot create `account_update` type Account Links for Express accounts.", "type"
        )
    token = ctx.state.secret(32)
    expires_at = ctx.now + 300
    ctx.state.tokens[token] = {
        "kind": "onboarding",
        "account": acct_id,
        "platform": ctx.platform,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": expires_at,
        "visited": False,
        "done": False,
    }
    return conform(
        {
            "object": "account_link",
            "created": ctx.now,
            "expires_at": expires_at,
            "url": ctx.url(f"/_emulator/hosted/onboarding/{token}"),
        }
    )


def onboard(state: State, stored: Stored, outcome: str) -> None:
    """Finish onboarding: ``complete`` enables everything; ``requirements_due`` leaves an ID due."""
    obj = stored.obj
    before = copy.deepcopy(obj)
    who = "representative" if obj["business_type"] == "company" else "individual"
    if obj["business_type"] is None:
        obj["business_type"] = "individual"
    obj["details_submitted"] = True
    profile = dict(obj["business_profile"])
    profile["mcc"] = profile.get("mcc") or "5734"
    profile["url"] = profile.get("url") or "https://example.com"
    profile["product_description"] = profile.get("product_description") or "Test products"
    obj["business_profile"] = profile
    obj["tos_acceptance"] = {"date": state.now(), "ip": "127.0.0.1", "user_agent": "emulator"}
    if stored.private.get("service_agreement") == "recipient":
        obj["tos_acceptance"]["service_agreement"] = "recipient"
    if not obj["external_accounts"]["data"]:
        obj["external_accounts"] = {
            **obj["external_accounts"],
            "data": [
                conform(
                    {
                        "id": state.new_id("ba"),
                        "object": "bank_account",
                        "account_holder_name": None,
                        "account_holder_type": None,
                        "account_type": None,
                        "bank_name": "STRIPE TEST BANK",
                        "country": obj["country"],
                        "currency": obj["default_currency"],
                        "customer": None,
                        "fingerprint": state.secret(16),
                        "last4": "3000" if obj["default_currency"] == "eur" else "6789",
                        "metadata": {},
                        "routing_number": "110000000",
                        "status": "new",
                    }
                )
            ],
        }
    if outcome == "complete":
        obj["charges_enabled"] = True
        obj["payouts_enabled"] = True
        obj["capabilities"] = dict.fromkeys(
            obj["capabilities"] or ["card_payments", "transfers"], "active"
        )
        obj["requirements"] = requirements([], None, past_due=False)
    else:
        obj["charges_enabled"] = False
        obj["payouts_enabled"] = False
        obj["capabilities"] = dict.fromkeys(
            obj["capabilities"] or ["card_payments", "transfers"], "inactive"
        )
        obj["requirements"] = requirements(
            [f"{who}.verification.document"], "requirements.past_due"
        )
    notify(state, stored, before)


def deauthorize(state: State, stored: Stored) -> None:
    platform = stored.private.get("platform")
    stored.private["deauthorized"] = True
    application = {
        "id": "ca_" + str(platform)[5:],
        "object": "application",
        "name": "Storeplex (emulated platform)",
    }
    if platform:
        emit(
            state,
            platform,
            "account.application.deauthorized",
            application,
            account=stored.obj["id"],
        )


def check_destination(ctx: Ctx, acct_id: str, param: str) -> None:
    """The account a charge or transfer may send money to: it exists, is not the platform,
    has the transfers capability, and the platform's region may pay it."""
    try:
        stored = connected_of(ctx, acct_id, param)
    except StripeError as err:
        raise StripeError(
            400, f"No such destination: '{acct_id}'", param=param, code="resource_missing"
        ) from err
    if acct_id == ctx.platform:
        raise invalid("The destination account cannot be the platform itself.", param)
    if stored.obj["capabilities"].get("transfers") != "active":
        raise StripeError(
            400,
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            param=param,
            code="insufficient_capabilities_for_transfer",
        )
    platform = ctx.state.get(ctx.platform)
    refused = transfer_error(
        platform.obj["country"] if platform else "LU",
        stored.obj["country"],
        stored.private.get("service_agreement", "full"),
        param,
    )
    if refused is not None:
        raise refused
