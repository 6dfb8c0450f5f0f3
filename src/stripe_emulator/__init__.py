"""A stateful Stripe API emulator. Imports nothing from storeplex; reached only over HTTP."""
