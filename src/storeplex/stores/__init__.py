"""Stores: the platform creates, lists and suspends them; staff read and edit their own."""
