"""Payouts to the stores' banks: schedule, minimum, and the payout job (DESIGN 6.6)."""
