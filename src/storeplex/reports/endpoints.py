"""Store statements and the platform's fee report, as JSON or CSV.

JSON carries integer minor units (plus display strings); CSV carries decimal
numbers in major units, one row per period (or store) and a totals row. A store's
statement CSV is labelled and punctuated for its locale (see `reports.csv_labels`); the
platform's fee report spans stores of every locale and keeps field names and ".".
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from storeplex.auth.deps import CurrentAdmin, CurrentStaff
from storeplex.deps import SessionDep
from storeplex.models import Store
from storeplex.money import format_amount, to_major
from storeplex.reports import service
from storeplex.reports.csv_labels import CsvStyle, csv_style
from storeplex.reports.service import FIGURES, StatementRow

PLAIN = csv_style(None)
store_router = APIRouter(prefix="/api/v1/store", tags=["store-reports"])
platform_router = APIRouter(prefix="/api/v1/platform/reports", tags=["platform"])

From = Annotated[date | None, Query(alias="from", description="First day, YYYY-MM-DD (UTC)")]
To = Annotated[date | None, Query(alias="to", description="Last day, YYYY-MM-DD (UTC)")]
Format = Literal["json", "csv"]


def _row_json(row: StatementRow, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {"period": row.period, "payments": row.payments}
    for name in FIGURES:
        value = getattr(row, name)
        out[name] = value
        out[f"{name}_display"] = format_amount(value, currency)
    return out


def _csv(
    header: list[str], rows: list[list[Any]], filename: str, style: CsvStyle = PLAIN
) -> Response:
    buffer = io.StringIO()
    buffer.write(style.prefix)
    writer = csv.writer(buffer, lineterminator="\n", delimiter=style.delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@store_router.get("/statements", response_model=None)
async def statement(
    staff: CurrentStaff,
    session: SessionDep,
    period: Literal["day", "month"] = "day",
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> dict[str, Any] | Response:
    """Gross sales, platform fees, refunds, disputes and net per day or month."""
    low, high = service.check_range(start, end, period)
    result = await service.store_statement(
        session, store_id=staff.store_id, period=period, start=low, end=high
    )
    currency = result.currency
    if format == "csv":
        store = await session.get_one(Store, staff.store_id)
        style = csv_style(store.locale)
        totals = result.totals
        rows = [
            [style.label("total") if row is totals else row.period, currency, row.payments]
            + [style.amount(getattr(row, name), currency) for name in FIGURES]
            for row in [*result.rows, totals]
        ]
        return _csv(
            [style.label(key) for key in ("period", "currency", "payments", *FIGURES)],
            rows,
            f"statement-{low.isoformat()}-{high.isoformat()}.csv",
            style,
        )
    return {
        "currency": currency,
        "period": period,
        "from": low.isoformat(),
        "to": high.isoformat(),
        "data": [_row_json(row, currency) for row in result.rows],
        "totals": _row_json(result.totals, currency),
    }


@platform_router.get("/fees", response_model=None)
async def fee_report(
    admin: CurrentAdmin,
    session: SessionDep,
    start: From = None,
    end: To = None,
    format: Format = "json",
) -> dict[str, Any] | Response:
    """The platform's fee revenue per store: fees collected, fees refunded, net."""
    low, high = service.check_range(start, end, "month")
    rows = await service.platform_fees(session, start=low, end=high)
    if format == "csv":
        return _csv(
            [
                "store_id",
                "slug",
                "currency",
                "payments",
                "platform_fees",
                "fee_refunds",
                "net_fees",
            ],
            [
                [r.store_id, r.slug, r.currency, r.payments]
                + [
                    str(to_major(v, r.currency))
                    for v in (r.platform_fees, r.fee_refunds, r.net_fees)
                ]
                for r in rows
            ],
            f"platform-fees-{low.isoformat()}-{high.isoformat()}.csv",
        )
    return {
        "from": low.isoformat(),
        "to": high.isoformat(),
        "data": [
            {
                "store_id": r.store_id,
                "slug": r.slug,
                "name": r.name,
                "currency": r.currency,
                "payments": r.payments,
                "platform_fees": r.platform_fees,
                "fee_refunds": r.fee_refunds,
                "net_fees": r.net_fees,
                "net_fees_display": format_amount(r.net_fees, r.currency),
            }
            for r in rows
        ],
    }
