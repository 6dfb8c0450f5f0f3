"""Disputes (chargebacks) of the stores' payments (DESIGN 6.4)."""
