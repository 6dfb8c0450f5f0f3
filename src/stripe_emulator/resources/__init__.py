"""API resources, one module per domain; importing a module registers its routes."""

from __future__ import annotations

import importlib

MODULES = (
    "accounts",
    "balance",
    "charges",
    "customers",
    "disputes",
    "events",
    "files",
    "payment_intents",
    "payouts",
    "refunds",
    "setup_intents",
    "transfers",
)


def register_all() -> None:
    """Import every resource module so that its ``@route`` handlers are registered."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
