"""`odradek serve`: run a broker (with its optional metrics endpoint and web console)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from .common import CommandError, config_file, file_and_env_values, parse_key_values


def add_parser(commands) -> None:
    serve = commands.add_parser("serve", help="run a broker")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 9092)")
    serve.add_argument("--data-dir", type=Path, help="where logs and metadata live "
                       "(default ./odradek-data)")
    serve.add_argument("--config", type=Path, help="a server.properties or odradek.toml file "
                       "with Kafka broker config names and odradek's options (default: "
                       "$ODRADEK_CONFIG, else ./odradek.toml if present)")
    serve.add_argument("--advertised-host", help="host clients should connect to "
                       "(default: the listening host)")
    serve.add_argument("--advertised-port", type=int, help="port clients should connect to")
    serve.add_argument("-o", "--override", action="append", default=[], metavar="NAME=VALUE",
                       help="set a Kafka broker config, e.g. -o num.partitions=3")
    serve.add_argument("--log-level", help="logging level (default INFO)")
    serve.add_argument("--metrics-port", type=int,
                       help="serve Prometheus metrics on http://HOST:PORT/metrics")
    serve.add_argument("--metrics-host", help="address of the metrics endpoint (default: --host)")
    serve.add_argument("--console-port", type=int,
                       help="serve the web console on http://HOST:PORT/")
    serve.add_argument("--console-host", help="address of the web console (default: --host)")
    serve.add_argument("--fsync", choices=["always", "interval", "never"],
                       help="durability: 'always' acknowledges a produce only once fsynced "
                       "(log.flush.interval.messages=1, group commit), 'interval' fsyncs every "
                       "--fsync-interval-ms (log.flush.interval.ms), 'never' leaves it to the OS "
                       "(Kafka's default)")
    serve.add_argument("--fsync-interval-ms", type=int, default=1000,
                       help="with --fsync interval (default 1000)")
    serve.add_argument("--print-config", action="store_true",
                       help="print the effective configuration as an odradek.toml and exit")
    serve.set_defaults(func=run_serve)


def settings_from_args(args: argparse.Namespace):
    """Flags > ODRADEK_* > config file > defaults."""
    from ..broker.configs import ConfigError
    from ..broker.settings import BrokerSettings

    overrides = parse_key_values(args.override, "-o")
    if args.fsync == "always":
        overrides.setdefault("log.flush.interval.messages", "1")
    elif args.fsync == "interval":
        overrides.setdefault("log.flush.interval.ms", str(args.fsync_interval_ms))
    options = {"host": args.host, "port": args.port, "data_dir": args.data_dir,
               "advertised_host": args.advertised_host, "advertised_port": args.advertised_port,
               "log_level": args.log_level, "metrics_port": args.metrics_port,
               "metrics_host": args.metrics_host, "console_port": args.console_port,
               "console_host": args.console_host}
    try:
        values = file_and_env_values(args.config)
        return BrokerSettings.from_values(values, properties=overrides, **options)
    except (ConfigError, ValueError, TypeError) as exc:
        path = config_file(args.config)
        raise CommandError(f"bad configuration{f' in {path}' if path else ''}: {exc}") from None


def run_serve(args: argparse.Namespace) -> int:
    from ..server.app import new_event_loop, serve

    try:
        settings = settings_from_args(args)
    except CommandError as exc:
        print(f"odradek: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        sys.stdout.write(settings.to_toml())
        return 0
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from ..security.errors import SecurityConfigError

    try:
        loop.run_until_complete(serve(settings, stop))
    except (OSError, SecurityConfigError) as exc:  # a port in use, a bad certificate, ...
        logging.getLogger("odradek").error("cannot start: %s", exc)
        return 1
    finally:
        loop.close()
    return 0
