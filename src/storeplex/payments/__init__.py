"""Payments: Connect onboarding, PaymentIntents for orders, and applying Stripe's view of them."""
