"""Shopper accounts per store and their saved cards."""
