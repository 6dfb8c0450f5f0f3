"""The store admin's mail and locale settings (/admin/store-settings): how money reads in
the store's pages and mails, and which staff mails the store receives.

The form calls the same service as `PATCH /api/v1/store`; a refused locale re-renders
the page with the service's message and writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from storeplex.deps import SessionDep
from storeplex.money_format import format_money
from storeplex.stores import service as stores
from storeplex.web.common import StaffPage, attempt, form_data, page_router, redirect, render
from storeplex.web.common import staff_page as staff_page_dep

router = page_router("/admin/store-settings")

Staff = Annotated[StaffPage, Depends(staff_page_dep)]

STAFF_MAIL_LABELS = {
    "staff_new_order": "A new paid order",
    "dispute_opened": "A dispute is opened (with its evidence deadline)",
    "payout_paid": "A payout was sent to the bank",
    "payout_failed": "A payout failed",
    "account_needs_information": "Stripe needs more information",
}
LOCALES = {
    "": "Plain (12.50 EUR)",
    "en_IE": "English, Ireland (€12.50)",
    "en_GB": "English, United Kingdom",
    "en_US": "English, United States",
    "fr_LU": "Français, Luxembourg (12,50 €)",
    "fr_FR": "Français, France",
    "de_LU": "Deutsch, Luxemburg",
    "de_DE": "Deutsch, Deutschland",
    "nl_NL": "Nederlands",
    "ja_JP": "日本語",
}


def _page(
    request: Request, staff: StaffPage, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    store = staff.store
    return render(
        request,
        "admin/store_settings.html",
        {
            "staff": staff,
            "store": store,
            "csrf": staff.csrf,
            "section": "store-settings",
            "notice": "Saved." if request.query_params.get("done") == "saved" else None,
            "locales": LOCALES,
            "example": format_money(1250, store.currency, store.locale),
            "mail_labels": STAFF_MAIL_LABELS,
            "mails_off": set((store.staff_mails_off or "").split(",")),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
async def store_settings_page(request: Request, staff: Staff) -> HTMLResponse:
    return _page(request, staff)


@router.post("", response_class=HTMLResponse)
async def store_settings_submit(request: Request, staff: Staff, session: SessionDep) -> Response:
    form = await form_data(request)
    wanted = {kind for kind in STAFF_MAIL_LABELS if form.get(f"mail_{kind}") == "1"}
    _, error = await attempt(
        session,
        stores.update_store(
            session,
            store_id=staff.store.id,
            changes={
                "locale": form.get("locale") or None,
                "staff_mails_off": sorted(set(STAFF_MAIL_LABELS) - wanted),
            },
            allowed=stores.STAFF_EDITABLE,
        ),
    )
    if error:
        return _page(request, staff, error=error, status_code=400)
    return redirect("/admin/store-settings?done=saved")
