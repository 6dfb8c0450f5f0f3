"""Turning an outbox row into a mail: subject, plain-text part and HTML part.

Each kind has two templates in mail/templates: `<kind>.txt`, whose first line is
`Subject: ...`, and `<kind>.html` (autoescaped). Links are paths in the row's
context and are joined to the configured base URL here. The order link carries a
signed key (not the order's access token, which only exists as a hash), so the
shopper can open their order from any device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from storeplex.config import Settings
from storeplex.models import OutboxMail
from storeplex.money_format import format_money

TEMPLATES_DIR = Path(__file__).parent / "templates"
ORDER_KEY_SALT = "storeplex.order-view"

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@pass_context
def _money(context: Context, amount: int, currency: str | None = None) -> str:
    return format_money(int(amount), currency or context["currency"], context.get("locale"))


env.filters["money"] = _money


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def order_view_key(secret: str, order_id: int) -> str:
    """A key that opens one order's page, given in mails to the shopper."""
    return str(URLSafeSerializer(secret, salt=ORDER_KEY_SALT).dumps(order_id))


def order_id_of_key(secret: str, key: str) -> int | None:
    """The order a key opens, or None for a forged or malformed key."""
    try:
        value = URLSafeSerializer(secret, salt=ORDER_KEY_SALT).loads(key)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def render_mail(mail: OutboxMail, settings: Settings) -> RenderedMail:
    base = settings.base_url.rstrip("/")

    def url(path: str) -> str:
        return path if path.startswith(("http://", "https://")) else base + path

    context: dict[str, Any] = {
        "currency": None,
        "locale": None,
        **mail.context,
        "url": url,
        "sender_line": f"Sent by {mail.sender_name} through Storeplex",
    }
    if "order_id" in mail.context and "order_path" in mail.context:
        key = order_view_key(settings.session_secret(), int(mail.context["order_id"]))
        context["order_link"] = url(f"{mail.context['order_path']}?key={key}")
        if "pay_path" in mail.context:  # the pay page takes the key as the order's token
            context["pay_link"] = url(f"{mail.context['pay_path']}?token={key}")
    text = env.get_template(f"{mail.kind}.txt").render(context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"mail template {mail.kind}.txt must start with 'Subject: '")
    html = env.get_template(f"{mail.kind}.html").render(context)
    subject = " ".join(first.removeprefix("Subject: ").split())
    return RenderedMail(subject=subject, text=body.lstrip("\n"), html=html)
