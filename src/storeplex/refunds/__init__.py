"""Refunds of paid orders."""
