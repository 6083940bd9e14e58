"""The `odradek` command: `odradek serve [...]`, `odradek --version`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="odradek", description="An event streaming broker that speaks the Kafka protocol.")
    parser.add_argument("--version", action="version", version=f"odradek {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run a broker")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 9092)")
    serve.add_argument("--data-dir", type=Path, help="where logs and metadata live "
                       "(default ./odradek-data)")
    serve.add_argument("--config", type=Path, help="a server.properties or odradek.toml file "
                       "with Kafka broker config names")
    serve.add_argument("--advertised-host", help="host clients should connect to "
                       "(default: the listening host)")
    serve.add_argument("--advertised-port", type=int, help="port clients should connect to")
    serve.add_argument("-o", "--override", action="append", default=[], metavar="NAME=VALUE",
                       help="set a Kafka broker config, e.g. -o num.partitions=3")
    serve.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    parser.print_help()
    return 2


def _serve(args: argparse.Namespace) -> int:
    from .broker.configs import ConfigError
    from .broker.settings import BrokerSettings
    from .server.app import new_event_loop, serve

    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {}
    for item in args.override:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"odradek: -o expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        overrides[name.strip()] = value.strip()
    options = {"host": args.host, "port": args.port, "data_dir": args.data_dir,
               "advertised_host": args.advertised_host, "advertised_port": args.advertised_port}
    try:
        if args.config is not None:
            settings = BrokerSettings.from_file(args.config, properties=overrides, **options)
        else:
            settings = BrokerSettings(properties=overrides,
                                      **{k: v for k, v in options.items() if v is not None})
    except (ConfigError, OSError, ValueError) as exc:
        print(f"odradek: bad configuration: {exc}", file=sys.stderr)
        return 2

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        loop.run_until_complete(serve(settings, stop))
    except OSError as exc:
        logging.getLogger("odradek").error("cannot start: %s", exc)
        return 1
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
