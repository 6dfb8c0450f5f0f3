"""Statements, the platform's fee report, and reconciliation of money after the sale."""
