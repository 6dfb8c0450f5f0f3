"""Everything that talks to Stripe: keys, the gateway (one StripeClient), webhooks.

Rule: no other module imports the `stripe` SDK to make calls; they ask the
gateway, which logs each call once, counts it, and turns Stripe's errors into
ours.
"""
