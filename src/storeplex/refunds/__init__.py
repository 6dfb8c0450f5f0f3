"""Refunds of paid orders (DESIGN 6.4)."""
