"""Storefront pages under /s/{slug}/: catalog, cart, checkout, payment step, order confirmation.

Rule: the payment step runs in the shopper's browser (Stripe.js); these pages
only prove the shopper holds the order's access token (kept in an HttpOnly
cookie set at checkout, or `?token=` on the return URL) and render what the
services say. The amount is never taken from the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import Response

from storeplex.carts import service as carts
from storeplex.catalog import images
from storeplex.deps import SessionDep
from storeplex.errors import NotFound
from storeplex.mail.render import order_id_of_key
from storeplex.models import (
    Customer,
    Order,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    Product,
    Store,
    StoreStatus,
)
from storeplex.orders import service as orders
from storeplex.orders.checkout import place_order
from storeplex.orders.schemas import CheckoutIn
from storeplex.storefront import service as catalog
from storeplex.stores import service as stores
from storeplex.tenancy import scoped, store_by_slug, storefront_store
from storeplex.web.common import (
    attempt,
    form_data,
    page_router,
    redirect,
    render,
    settings_of,
    stripe_js_url,
)
from storeplex.web.countries import COUNTRIES
from storeplex.web.shopper import current_shopper, saved_cards
from storeplex.words import payment_error

router = page_router("/s/{slug}")

CartCookie = Annotated[str | None, Cookie(alias=carts.CART_COOKIE)]
OrderId = Annotated[int, Path(ge=1, le=2**62)]
PAGE_SIZE = 24
PAID_STATES = (
    OrderPaymentStatus.PAID,
    OrderPaymentStatus.PARTIALLY_REFUNDED,
    OrderPaymentStatus.REFUNDED,
)


def order_cookie_name(order_id: int) -> str:
    return f"storeplex_order_{order_id}"


def _secure(request: Request) -> bool:
    return settings_of(request).base_url.startswith("https://")


def _remember_cart(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        carts.CART_COOKIE,
        token,
        max_age=carts.CART_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def _remember_order(
    request: Request, response: Response, store: Store, order: Order, token: str
) -> None:
    response.set_cookie(
        order_cookie_name(order.id),
        token,
        max_age=30 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=f"/s/{store.slug}/orders/{order.id}",
    )


def _int(value: str | None, default: int = 0) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


async def _cart_count(session: SessionDep, store: Store, token: str | None) -> int:
    cart = await carts.view_cart(session, store=store, token=token)
    return cart.item_count


async def _suspended_store(session: SessionDep, slug: str) -> Store | None:
    store = (
        await session.execute(select(Store).where(Store.slug == slug.lower()[:63]))
    ).scalar_one_or_none()
    return store if store is not None and store.status == StoreStatus.SUSPENDED else None


@router.get("/", response_class=HTMLResponse)
async def storefront_home(
    request: Request,
    slug: str,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cart_token: CartCookie = None,
) -> HTMLResponse:
    try:
        store, taking_orders = await storefront_store(session, slug)
    except NotFound:
        suspended = await _suspended_store(session, slug)
        if suspended is None:
            raise
        # A suspended store's address says it is not taking orders (and shows nothing to buy).
        return render(
            request,
            "storefront/home.html",
            {"store": suspended, "products": [], "has_more": False, "offset": 0,
             "page_size": PAGE_SIZE, "cart_count": 0, "taking_orders": False},
        )  # fmt: skip
    products, has_more = await catalog.list_products(
        session, store_id=store.id, limit=PAGE_SIZE, offset=offset
    )
    return render(
        request,
        "storefront/home.html",
        {
            "store": store,
            "products": products,
            "has_more": has_more,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "cart_count": await _cart_count(session, store, cart_token),
            "taking_orders": taking_orders,
        },
    )


@router.get("/images/{key}")
async def product_image(
    request: Request,
    slug: str,
    key: Annotated[str, Path(max_length=64)],
    session: SessionDep,
) -> Response:
    """A product image of this store: only a name one of its products holds is served, from
    its own folder, so another store's image or any other file answers 404. The name
    changes with the picture, so browsers may keep it for a year."""
    store = await store_by_slug(session, slug)
    path = images.image_path(settings_of(request).data_dir, store.id, key)
    owned = (
        await session.execute(scoped(Product, store.id).where(Product.image_key == key).limit(1))
    ).first()
    if path is None or owned is None or not path.is_file():
        raise NotFound("No such image")
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_page(
    request: Request,
    slug: str,
    product_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    cart_token: CartCookie = None,
) -> HTMLResponse:
    store, taking_orders = await storefront_store(session, slug)
    product = await catalog.get_product(session, store_id=store.id, product_id=product_id)
    return render(
        request,
        "storefront/product.html",
        {
            "store": store,
            "product": product,
            "cart_count": await _cart_count(session, store, cart_token),
            "taking_orders": taking_orders,
        },
    )


@router.post("/cart/add", response_class=HTMLResponse)
async def cart_add(
    request: Request, slug: str, session: SessionDep, cart_token: CartCookie = None
) -> Response:
    store, taking_orders = await storefront_store(session, slug)
    form = await form_data(request)
    product_id = _int(form.get("product_id"))
    quantity = _int(form.get("quantity"), 1)
    if not product_id or product_id < 1:
        return redirect(f"/s/{store.slug}/")
    product = await catalog.get_product(session, store_id=store.id, product_id=product_id)
    if not taking_orders:
        return render(
            request,
            "storefront/product.html",
            {
                "store": store,
                "product": product,
                "error": stores.not_taking_orders_message(store),
                "cart_count": await _cart_count(session, store, cart_token),
                "taking_orders": False,
            },
            status_code=409,
        )
    token = carts.valid_cart_token(cart_token) or carts.new_cart_token()
    error = None
    if quantity is None or not 1 <= quantity <= 1000:
        error = "Choose a quantity between 1 and 1000."
    else:
        _, error = await attempt(
            session,
            carts.add_item(
                session, store_id=store.id, token=token, product_id=product.id, quantity=quantity
            ),
        )
    if error:
        return render(
            request,
            "storefront/product.html",
            {
                "store": store,
                "product": product,
                "error": error,
                "quantity": form.get("quantity", "1"),
                "cart_count": await _cart_count(session, store, cart_token),
                "taking_orders": True,
            },
            status_code=400,
        )
    response = redirect(f"/s/{store.slug}/cart?added={product.id}")
    _remember_cart(request, response, token)
    return response


@router.get("/cart", response_class=HTMLResponse)
async def cart_page(
    request: Request,
    slug: str,
    session: SessionDep,
    cart_token: CartCookie = None,
    added: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    store, taking_orders = await storefront_store(session, slug)
    cart = await carts.view_cart(session, store=store, token=cart_token)
    added_name = next((line.name for line in cart.items if line.product_id == added), None)
    return render(
        request,
        "storefront/cart.html",
        {
            "store": store,
            "cart": cart,
            "cart_count": cart.item_count,
            "added": added_name,
            "taking_orders": taking_orders,
        },
    )


@router.post("/cart/update", response_class=HTMLResponse)
async def cart_update(
    request: Request, slug: str, session: SessionDep, cart_token: CartCookie = None
) -> Response:
    store, taking_orders = await storefront_store(session, slug)
    form = await form_data(request)
    product_id = _int(form.get("product_id"))
    quantity = 0 if "remove" in form else _int(form.get("quantity"))
    error = None
    if not product_id or product_id < 1:
        error = "That product is not in your cart."
    elif quantity is None or not 0 <= quantity <= 1000:
        error = "Quantity must be a whole number between 0 and 1000."
    else:
        _, error = await attempt(
            session,
            carts.set_item_quantity(
                session,
                store_id=store.id,
                token=cart_token,
                product_id=product_id,
                quantity=quantity,
            ),
        )
    if error:
        cart = await carts.view_cart(session, store=store, token=cart_token)
        return render(
            request,
            "storefront/cart.html",
            {
                "store": store,
                "cart": cart,
                "cart_count": cart.item_count,
                "error": error,
                "taking_orders": taking_orders,
            },
            status_code=400,
        )
    return redirect(f"/s/{store.slug}/cart")


def _checkout_context(store: Store, cart: object, values: dict[str, str]) -> dict[str, object]:
    return {
        "store": store,
        "cart": cart,
        "values": values,
        "countries": COUNTRIES,
        "cart_count": getattr(cart, "item_count", 0),
        "taking_orders": True,
    }


@router.get("/checkout", response_class=HTMLResponse)
async def checkout_page(
    request: Request, slug: str, session: SessionDep, cart_token: CartCookie = None
) -> Response:
    store, taking_orders = await storefront_store(session, slug)
    cart = await carts.view_cart(session, store=store, token=cart_token)
    if not cart.items or not taking_orders:
        return redirect(f"/s/{store.slug}/cart")
    values = {"country": store.country}
    shopper = await current_shopper(request, session, store)
    if shopper is not None:
        values.update(await _last_details(session, store, shopper.customer))
    return render(request, "storefront/checkout.html", _checkout_context(store, cart, values))


async def _last_details(session: SessionDep, store: Store, customer: Customer) -> dict[str, str]:
    """A signed-in shopper's email, name and the address of their last order, to prefill."""
    values = {"email": customer.email, "name": customer.name or ""}
    last = await orders.orders_of_customer(
        session, store_id=store.id, customer_id=customer.id, limit=1
    )
    if last:
        order = last[0]
        values.update(
            name=order.shipping_name,
            phone=order.shipping_phone or "",
            line1=order.shipping_line1,
            line2=order.shipping_line2 or "",
            city=order.shipping_city,
            postal_code=order.shipping_postal_code,
            country=order.shipping_country,
        )
    return values


FIELD_LABELS = {
    "email": "Email",
    "name": "Full name",
    "phone": "Phone",
    "shipping.line1": "Address",
    "shipping.line2": "Address line 2",
    "shipping.city": "City",
    "shipping.postal_code": "Postal code",
    "shipping.country": "Country",
}


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        label = FIELD_LABELS.get(key, key)
        if err["type"] == "missing" or err["type"] == "string_too_short":
            text = f"{label} is required."
        elif key == "email":
            text = "Enter an email address like name@example.com."
        elif err["type"] == "string_too_long":
            text = f"{label} is too long."
        else:
            text = f"{label}: {err['msg']}."
        errors.setdefault(key.replace("shipping.", ""), text)
    return errors


@router.post("/checkout", response_class=HTMLResponse)
async def checkout_submit(
    request: Request, slug: str, session: SessionDep, cart_token: CartCookie = None
) -> Response:
    store = await store_by_slug(session, slug)
    form = await form_data(request)
    values = {k: form.get(k, "") for k in ("email", "name", "phone", *FIELD_LABELS)}
    values.update({k: form.get(k, "") for k in ("line1", "line2", "city", "postal_code")})
    values["country"] = form.get("country", store.country)
    errors: dict[str, str] = {}
    details = None
    try:
        details = CheckoutIn.model_validate(
            {
                "email": values["email"],
                "name": values["name"],
                "phone": values["phone"] or None,
                "shipping": {
                    "line1": values["line1"],
                    "line2": values["line2"] or None,
                    "city": values["city"],
                    "postal_code": values["postal_code"],
                    "country": values["country"],
                },
            }
        )
    except ValidationError as exc:
        errors = _field_errors(exc)
    message = None
    placed = None
    if details is not None:
        placed, message = await attempt(
            session, place_order(session, store=store, cart_token=cart_token, details=details)
        )
    if placed is None:
        cart = await carts.view_cart(session, store=store, token=cart_token)
        context = _checkout_context(store, cart, values)
        context["errors"] = errors
        context["error"] = message or "Please correct the fields marked below."
        if not await stores.takes_orders(session, store_id=store.id):
            context.update(errors={}, taking_orders=False)
            context["error"] = stores.not_taking_orders_message(store)
            return render(request, "storefront/checkout.html", context, status_code=409)
        return render(request, "storefront/checkout.html", context, status_code=400)
    order = placed.order
    response = redirect(f"/s/{store.slug}/orders/{order.id}/pay")
    _remember_order(request, response, store, order, placed.access_token)
    return response


async def _shopper_order(
    request: Request, session: SessionDep, store: Store, order_id: int, token: str | None
) -> tuple[Order, str]:
    token = token or request.cookies.get(order_cookie_name(order_id))
    order = await orders.order_for_shopper(
        session,
        store_id=store.id,
        order_id=order_id,
        token=token,
        key_secret=settings_of(request).session_secret(),
    )
    assert token is not None  # order_for_shopper refuses a missing token
    return order, token


@router.get("/orders/{order_id}/pay", response_class=HTMLResponse)
async def pay_page(
    request: Request,
    slug: str,
    order_id: OrderId,
    session: SessionDep,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    store = await store_by_slug(session, slug)
    order, token = await _shopper_order(request, session, store, order_id, token)
    if order.payment_status in PAID_STATES:
        return redirect(f"/s/{store.slug}/orders/{order.id}")
    items = await orders.get_order_items(session, order_id=order.id)
    shopper = await current_shopper(request, session, store)
    owns_order = shopper is not None and shopper.customer.id == order.customer_id
    request.state.csp = "stripe"  # this page mounts Stripe.js (middleware.ContentSecurity)
    response = render(
        request,
        "storefront/pay.html",
        {
            "store": store,
            "order": order,
            "items": items,
            "token": token,
            "shopper": shopper.customer if shopper else None,
            "owns_order": owns_order,
            "shopper_csrf": shopper.csrf if owns_order and shopper else "",
            "cards": await saved_cards(session, shopper) if owns_order and shopper else [],
            "stripe_js": stripe_js_url(settings_of(request)),
            "publishable_key": request.app.state.stripe.keys.publishable_key,
            "canceled": order.status == OrderStatus.CANCELED,
        },
    )
    _remember_order(request, response, store, order, token)
    return response


async def _followed_order(
    request: Request, session: SessionDep, store: Store, order_id: int, token: str | None, key: str
) -> tuple[Order, str | None]:
    """The order for its token (cookie or query), the signed key of its mails, or the
    signed-in shopper who placed it; otherwise 404, so existence is not revealed."""
    token = token or request.cookies.get(order_cookie_name(order_id))
    if token:
        try:
            found = await orders.order_for_shopper(
                session,
                store_id=store.id,
                order_id=order_id,
                token=token,
                key_secret=settings_of(request).session_secret(),
            )
            return found, token
        except NotFound:
            pass  # a stale cookie: the key or the signed-in shopper may still open it
    order = await orders.get_order(session, store_id=store.id, order_id=order_id)
    if key and order_id_of_key(settings_of(request).session_secret(), key) == order.id:
        return order, None
    shopper = await current_shopper(request, session, store)
    if shopper is not None and shopper.customer.id == order.customer_id:
        return order, None
    raise NotFound(f"No order with id {order_id}")


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_confirmation(
    request: Request,
    slug: str,
    order_id: OrderId,
    session: SessionDep,
    token: Annotated[str | None, Query(max_length=200)] = None,
    key: Annotated[str, Query(max_length=200)] = "",
    redirect_status: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    store = await store_by_slug(session, slug)
    order, token = await _followed_order(request, session, store, order_id, token, key)
    items = await orders.get_order_items(session, order_id=order.id)
    payment = (
        await session.execute(select(Payment).where(Payment.order_id == order.id))
    ).scalar_one_or_none()
    if order.payment_status in PAID_STATES:
        state = "paid"
    elif order.status == OrderStatus.CANCELED:
        state = "canceled"
    elif redirect_status == "failed":
        state = "failed"
    elif payment is not None and (
        redirect_status in ("succeeded", "processing") or payment.status == "processing"
    ):
        state = "confirming"
    elif order.payment_status == OrderPaymentStatus.FAILED:
        state = "failed"
    else:
        state = "unpaid"
    response = render(
        request,
        "storefront/order.html",
        {
            "store": store,
            "order": order,
            "items": items,
            "payment": payment,
            "state": state,
            "token": token or "",
            "failure": (
                payment_error(payment.failure_code)
                if payment and (payment.failure_code or payment.failure_reason)
                else None
            ),
        },
    )
    if token:
        _remember_order(request, response, store, order, token)
    return response
