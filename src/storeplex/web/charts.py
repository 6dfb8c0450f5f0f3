"""Small inline SVG charts drawn on the server (no chart library, no script).

Rule: a chart is decoration for sighted users; the page always shows the same
numbers in a table too, and the SVG carries a text summary for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from storeplex.money import format_amount
from storeplex.web.queries import DayPoint

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 8, 24, 10


def sales_chart(points: Sequence[DayPoint], currency: str, title: str) -> Markup:
    """Bars of gross sales per day, with the platform fee as a darker bar inside each."""
    top = max((p.sales for p in points), default=0)
    total_sales = sum(p.sales for p in points)
    total_fees = sum(p.fees for p in points)
    summary = (
        f"{title}: {format_amount(total_sales, currency)} of sales and "
        f"{format_amount(total_fees, currency)} of platform fees over {len(points)} days"
    )
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="none">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD_BOTTOM}" class="axis"/>',
    ]
    for i, p in enumerate(points):
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        sales_h = plot_h * p.sales / top if top else 0
        fee_h = plot_h * p.fees / top if top else 0
        base = HEIGHT - PAD_BOTTOM
        label = (
            f"{p.day.isoformat()}: sales {format_amount(p.sales, currency)}, "
            f"fees {format_amount(p.fees, currency)}"
        )
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<rect class="bar-sales" x="{x:.1f}" y="{base - sales_h:.1f}" '
            f'width="{bar_w:.1f}" height="{sales_h:.1f}"/>'
            f'<rect class="bar-fees" x="{x:.1f}" y="{base - fee_h:.1f}" '
            f'width="{bar_w:.1f}" height="{fee_h:.1f}"/></g>'
        )
    if points:
        for index in (0, len(points) - 1):
            anchor = "start" if index == 0 else "end"
            x = PAD_LEFT if index == 0 else WIDTH
            parts.append(
                f'<text x="{x}" y="{HEIGHT - 6}" text-anchor="{anchor}" class="tick">'
                f"{points[index].day.strftime('%d %b')}</text>"
            )
    parts.append("</svg>")
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704
