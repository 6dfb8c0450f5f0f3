"""``python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file F]``."""

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
    args = parser.parse_args(argv)

    import uvicorn

    from stripe_emulator.app import create_app

    logging.basicConfig(level=args.log_level.upper())
    app = create_app(public_url=args.public_url, state_file=args.state_file)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
