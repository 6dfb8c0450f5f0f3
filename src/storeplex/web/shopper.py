"""Shopper accounts on a storefront: register, log in, log out, and the saved cards.

A shopper account belongs to one store (its email is unique per store). Being
logged in is what lets the payment step offer "save this card" and the cards
saved before; the order itself is still proven by its access token.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from storeplex.auth.deps import client_address, read_session, session_manager
from storeplex.auth.login import release
from storeplex.auth.sessions import SessionData
from storeplex.customers import service as customers
from storeplex.deps import SessionDep, get_database
from storeplex.errors import StoreplexError
from storeplex.models import Customer, PaymentMethod, Store
from storeplex.orders import service as orders
from storeplex.tenancy import store_by_slug
from storeplex.web.common import (
    attempt,
    check_form_csrf,
    check_login_form,
    form_data,
    page_router,
    redirect,
    render,
    render_login_form,
    render_reset_form,
    safe_next,
    submit_forgot,
    submit_reset,
)

router = page_router("/s/{slug}/account")


@dataclass(frozen=True, slots=True)
class Shopper:
    customer: Customer
    session: SessionData

    @property
    def csrf(self) -> str:
        return self.session.csrf


async def current_shopper(request: Request, session: SessionDep, store: Store) -> Shopper | None:
    """The logged-in shopper of this store, if any."""
    data = await read_session(request, session, "customer")
    if data is None or data.store_id != store.id:
        return None
    customer = await session.get(Customer, data.user_id)
    if customer is None or customer.store_id != store.id or not customer.password_hash:
        return None
    return Shopper(customer=customer, session=data)


async def saved_cards(session: SessionDep, shopper: Shopper) -> list[PaymentMethod]:
    return await customers.list_payment_methods(
        session, store_id=shopper.customer.store_id, customer_id=shopper.customer.id
    )


def _form_page(
    request: Request,
    store: Store,
    mode: str,
    *,
    error: str | None = None,
    status_code: int | None = None,
    **values: str,
) -> HTMLResponse:
    return render_login_form(
        request,
        "storefront/account_form.html",
        {"store": store, "mode": mode, "error": error, **values},
        status_code=status_code or (400 if error else 200),
    )


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, slug: str, session: SessionDep, next: str = "") -> Response:
    store = await store_by_slug(session, slug)
    return _form_page(request, store, "login", next=next, email="")


@router.get("/register", response_class=HTMLResponse)
async def register_page(
    request: Request, slug: str, session: SessionDep, next: str = ""
) -> Response:
    store = await store_by_slug(session, slug)
    return _form_page(request, store, "register", next=next, email="", name="")


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    form = await form_data(request)
    check_login_form(request, form)
    email, destination = form.get("email", ""), form.get("next", "")
    await release(session)
    try:
        customer = await customers.authenticate(
            session,
            get_database(request),
            store_id=store.id,
            email=email,
            password=form.get("password", ""),
            address=client_address(request),
        )
    except StoreplexError as exc:
        return _form_page(
            request, store, "login", error=exc.message, email=email, next=destination,
            status_code=exc.status_code,
        )  # fmt: skip
    response = redirect(safe_next(destination, f"/s/{store.slug}/account", f"/s/{store.slug}/"))
    await session_manager(request).start(
        session, request, response, "customer", customer.id, store.id
    )
    return response


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    form = await form_data(request)
    check_login_form(request, form)
    email, name, destination = form.get("email", ""), form.get("name", ""), form.get("next", "")
    await release(session)
    result, error = await attempt(
        session,
        customers.register(
            session,
            store_id=store.id,
            email=email,
            password=form.get("password", ""),
            name=name or None,
        ),
    )
    if result is None:
        return _form_page(
            request, store, "register", error=error, email=email, name=name, next=destination
        )
    if result.customer is None:
        return render(
            request, "storefront/account_check_email.html", {"store": store, "email": email}
        )
    response = redirect(safe_next(destination, f"/s/{store.slug}/account", f"/s/{store.slug}/"))
    await session_manager(request).start(
        session, request, response, "customer", result.customer.id, store.id
    )
    return response


@router.post("/logout")
async def logout(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    shopper = await current_shopper(request, session, store)
    response = redirect(f"/s/{store.slug}/")
    # With no live session nothing is ended and no cookie touched: a post from another
    # site (or another store's page) cannot sign anyone out.
    if shopper is not None:
        check_form_csrf(shopper.session, await form_data(request))
        await session_manager(request).end(request, session, response, "customer")
    return response


@router.get("", response_class=HTMLResponse)
async def account_page(
    request: Request,
    slug: str,
    session: SessionDep,
    error: str | None = None,
    done: str | None = None,
) -> Response:
    store = await store_by_slug(session, slug)
    shopper = await current_shopper(request, session, store)
    if shopper is None:
        return redirect(f"/s/{store.slug}/account/login?next=/s/{store.slug}/account")
    return render(
        request,
        "storefront/account.html",
        {
            "store": store,
            "shopper": shopper.customer,
            "csrf": shopper.csrf,
            "cards": await saved_cards(session, shopper),
            "orders": await orders.orders_of_customer(
                session, store_id=store.id, customer_id=shopper.customer.id
            ),
            "error": error,
            "notice": "Your password has been changed." if done == "password" else None,
        },
    )


@router.post("/cards/{card_id}/{action}", response_class=HTMLResponse)
async def card_action(
    request: Request, slug: str, card_id: int, action: str, session: SessionDep
) -> Response:
    store = await store_by_slug(session, slug)
    shopper = await current_shopper(request, session, store)
    if shopper is None:
        return redirect(f"/s/{store.slug}/account/login?next=/s/{store.slug}/account")
    check_form_csrf(shopper.session, await form_data(request))
    ids = {"store_id": store.id, "customer_id": shopper.customer.id, "payment_method_id": card_id}
    if action == "default":
        _, error = await attempt(session, customers.set_default(session, **ids))
    elif action == "remove":
        _, error = await attempt(
            session, customers.remove_payment_method(session, request.app.state.stripe, **ids)
        )
    else:
        error = "Unknown action"
    if error:
        return await account_page(request, slug, session, error=error)
    return redirect(f"/s/{store.slug}/account")


@router.get("/claim", response_class=HTMLResponse)
async def claim_page(request: Request, slug: str, session: SessionDep, token: str = "") -> Response:
    """The mailed registration link lands here; a button posts it (a mail scanner that
    opens links must not use it up)."""
    store = await store_by_slug(session, slug)
    return render_login_form(
        request, "storefront/account_claim.html", {"store": store, "token": token[:128]}
    )


@router.post("/claim", response_class=HTMLResponse)
async def claim(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    form = await form_data(request)
    check_login_form(request, form)
    customer, error = await attempt(
        session, customers.claim(session, store_id=store.id, secret=form.get("token", ""))
    )
    if customer is None:
        return render_login_form(
            request,
            "storefront/account_claim.html",
            {"store": store, "token": "", "error": error},
            status_code=400,
        )
    response = redirect(f"/s/{store.slug}/account")
    await session_manager(request).start(
        session, request, response, "customer", customer.id, store.id
    )
    return response


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_password_page(
    request: Request, slug: str, session: SessionDep, token: str = ""
) -> Response:
    """Where a mailed password-reset link lands."""
    store = await store_by_slug(session, slug)
    action = f"/s/{store.slug}/account/reset-password"
    return render_reset_form(
        request, "storefront/account_reset.html", {"store": store, "action": action}, token=token
    )


@router.post("/reset-password", response_class=HTMLResponse)
async def reset_password_submit(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    return await submit_reset(
        request,
        session,
        template="storefront/account_reset.html",
        context={"store": store, "action": f"/s/{store.slug}/account/reset-password"},
        store_id=store.id,
        done=f"/s/{store.slug}/account/login",
    )


def _forgot_context(store: Store) -> dict[str, object]:
    return {
        "layout": "storefront/_layout.html",
        "store": store,
        "action": f"/s/{store.slug}/account/forgot-password",
    }


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_page(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    return render_login_form(request, "forgot_password.html", _forgot_context(store))


@router.post("/forgot-password", response_class=HTMLResponse)
async def forgot_password_submit(request: Request, slug: str, session: SessionDep) -> Response:
    store = await store_by_slug(session, slug)
    return await submit_forgot(
        request, session, kind="customer", context=_forgot_context(store), store=store
    )


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, slug: str, session: SessionDep) -> Response:
    """Change the password: every session of the shopper ends; this browser gets a new one."""
    store = await store_by_slug(session, slug)
    shopper = await current_shopper(request, session, store)
    if shopper is None:
        return redirect(f"/s/{store.slug}/account/login?next=/s/{store.slug}/account")
    form = await form_data(request)
    check_form_csrf(shopper.session, form)
    _, error = await attempt(
        session,
        customers.change_password(
            session,
            customer=shopper.customer,
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
        ),
    )
    if error:
        return await account_page(request, slug, session, error=error)
    response = redirect(f"/s/{store.slug}/account?done=password")
    await session_manager(request).start(
        session, request, response, "customer", shopper.customer.id, store.id
    )
    return response
