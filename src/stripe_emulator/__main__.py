"""``python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file F]
[--api-key sk_test_... ...] [--country LU]``.

With no ``--api-key`` and no key kept in the state file, a new key pair is made and
printed (and kept in the state file when there is one).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stripe_emulator", description="Run the Stripe API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-file", default=None, help="persist state to this file")
    parser.add_argument("--public-url", default=None, help="base URL for hosted pages")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="a secret key to accept (sk_test_...); repeat for more platforms",
    )
    parser.add_argument("--country", default="LU", help="country of the platforms of --api-key")
    args = parser.parse_args(argv)

    import uvicorn

    from stripe_emulator.app import create_app
    from stripe_emulator.state import State

    logging.basicConfig(level=args.log_level.upper())
    try:
        app = create_app(
            public_url=args.public_url,
            state_file=args.state_file,
            api_keys=args.api_key,
            country=args.country,
        )
    except ValueError as exc:
        parser.error(str(exc))
    state = app.state.emulator.state
    if not state.keys:
        secret_key = "sk_test_" + State.secret(24)
        state.register_key(secret_key, args.country.upper())
        suffix = secret_key.removeprefix("sk_test_")
        print(
            f"Stripe emulator keys: secret {secret_key}  publishable pk_test_{suffix}", flush=True
        )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
