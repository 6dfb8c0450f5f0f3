"""A stateful Stripe API emulator. Imports nothing from storeplex; reached only over HTTP.

Public interface
----------------
* ``stripe_emulator.app.create_app(*, public_url=None, state_file=None)`` -> ASGI app.
* ``python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file F]``
  (``stripe_emulator.__main__.main(argv)``).
* Keys: any ``sk_test_[A-Za-z0-9_]{8,}`` is valid and *is* its own platform account
  (``acct_`` derived from the key); its publishable key is ``pk_test_`` + the same
  suffix and only reaches the Stripe.js calls (retrieve/confirm intents with
  ``client_secret``, create payment methods).
* Stripe.js stand-in at ``/js/v3/``; hosted pages under ``/_emulator/hosted/``;
  the test control API under ``/_emulator/`` (see :mod:`stripe_emulator.control`).

Module map
----------
``app`` (routing, auth, idempotency, faults, CORS) · ``wire`` (form parsing,
errors) · ``core`` (request context, route table, events, lists, expand) ·
``state`` (store, clock, ids) · ``schema`` (fixture field lists) · ``ledger``
(balance transactions) · ``money`` (fees, rounding) · ``cards`` (test cards) ·
``webhooks`` (delivery, signing, shaping) · ``faults`` · ``hosted`` (pages) ·
``control`` · ``persistence`` · ``resources/*`` (one module per API domain) ·
``static/stripe.js`` · ``templates/``.
"""
