"""The Jinja2 environment shared by every page, with money formatting as a filter."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from storeplex.money import format_amount

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["money"] = format_amount
