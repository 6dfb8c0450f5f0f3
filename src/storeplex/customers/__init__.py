"""Shopper accounts per store and their saved cards (DESIGN 6.5)."""
