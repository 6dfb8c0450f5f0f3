"""Stripe's webhooks, above every domain: the two endpoints (verify, store once, apply),
the inbox (each event stored once with what became of it, failures retried by the
worker) and the dispatch table from event type to each domain's handler."""
