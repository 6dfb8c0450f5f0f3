"""Disputes (chargebacks) of the stores' payments."""
