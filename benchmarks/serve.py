"""One worker process of a served app: `python -m benchmarks.serve --fd N module:factory`.

The app is served the way `storeplex serve` serves it: uvicorn with
`storeplex.serving.server_config` (the slow-client guard, the connection cap, the
keep-alive). Like `uvicorn --workers 2`, the runner binds one listening socket and
starts two of these processes on it (`processes.ServedApp`); the kernel hands each
new connection to one of them.
"""

from __future__ import annotations

import argparse
import importlib
import socket

import uvicorn

from storeplex.config import load_settings
from storeplex.serving import server_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    parser.add_argument("factory", help="module:function that builds the ASGI app")
    args = parser.parse_args(argv)
    module, _, name = args.factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    settings = load_settings()
    sock = socket.socket(fileno=args.fd)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(server_config(app, settings, host=host, port=port))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
