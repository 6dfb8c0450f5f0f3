"""Payouts to the stores' banks: schedule, minimum, and the payout job."""
