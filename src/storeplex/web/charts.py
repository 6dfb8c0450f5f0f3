"""Small inline SVG charts drawn on the server (no chart library, no script).

Rule: a chart is decoration for sighted users; the page always shows the same
numbers in a table too, and the SVG carries a text summary for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from storeplex.money import format_amount

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 220, 8, 24, 10


# One bar: (label such as "2026-05-04" or "2026-05", gross sales, platform fees), minor units.
Bar = tuple[str, int, int]


def sales_chart(bars: Sequence[Bar], currency: str, title: str) -> Markup:
    """Bars of gross sales per period, with the platform fee as a darker bar inside each."""
    top = max((sales for _, sales, _ in bars), default=0)
    total_sales = sum(sales for _, sales, _ in bars)
    total_fees = sum(fees for _, _, fees in bars)
    summary = (
        f"{title}: {format_amount(total_sales, currency)} of sales and "
        f"{format_amount(total_fees, currency)} of platform fees"
    )
    points = list(bars)
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(len(points), 1)
    bar_w = max(slot * 0.7, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}">',
        f"<title>{escape(summary)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD_BOTTOM}" class="axis"/>',
    ]
    for i, (period, sales, fees) in enumerate(points):
        x = PAD_LEFT + i * slot + (slot - bar_w) / 2
        sales_h = plot_h * sales / top if top else 0
        fee_h = plot_h * fees / top if top else 0
        base = HEIGHT - PAD_BOTTOM
        label = (
            f"{period}: sales {format_amount(sales, currency)}, "
            f"fees {format_amount(fees, currency)}"
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
                f"{escape(points[index][0])}</text>"
            )
    parts.append("</svg>")
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704
