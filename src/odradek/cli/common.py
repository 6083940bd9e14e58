"""What every client command shares: options (flag > ODRADEK_* > odradek.toml > default),
output as human tables or JSON, progress on stderr, running a coroutine."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..broker.settings import CLIENT_OPTIONS, env_values, read_config_file

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


class CommandError(Exception):
    """A failure to report as `odradek: <message>` with exit code 1."""


def add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection and output")
    group.add_argument("-b", "--bootstrap-server", metavar="HOST:PORT",
                       help=f"broker(s) to talk to (default {DEFAULT_BOOTSTRAP}, "
                       "or ODRADEK_BOOTSTRAP_SERVER, or bootstrap_server in odradek.toml)")
    group.add_argument("--output", choices=("table", "json"),
                       help="human tables (default) or JSON")
    group.add_argument("--config-file", dest="config", type=Path,
                       help="an odradek.toml (default: $ODRADEK_CONFIG, else ./odradek.toml)")
    group.add_argument("--timeout", type=float, help="seconds to wait for the broker (30)")
    group.add_argument("--client-id", help="client id sent to the broker (odradek-cli)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress or summary on stderr")
    group.add_argument("--command-config", type=Path, metavar="FILE",
                       help="Kafka client properties for TLS and SASL, as for Kafka's own tools "
                       "(security.protocol, sasl.mechanism, sasl.jaas.config or "
                       "sasl.username/sasl.password, ssl.truststore.location or "
                       "ssl.ca.location: PEM files)")
    group.add_argument("-X", "--property", dest="properties", action="append", default=[],
                       metavar="NAME=VALUE", help="one client property, after --command-config "
                       "(e.g. -X security.protocol=SASL_SSL)")


def config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("ODRADEK_CONFIG")
    if env:
        return Path(env)
    default = Path("odradek.toml")
    return default if default.is_file() else None


def file_and_env_values(explicit: Path | None) -> dict:
    """Values from the config file, overridden by ODRADEK_* variables."""
    values: dict = {}
    path = config_file(explicit)
    if path is not None:
        try:
            values.update(read_config_file(path))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        except ValueError as exc:
            raise CommandError(f"bad configuration in {path}: {exc}") from None
    values.update(env_values(os.environ))
    return values


def resolve_client_options(args: argparse.Namespace) -> None:
    """Fill bootstrap_server, output, timeout, client_id from file and environment."""
    values = {k.replace("-", "_"): v for k, v in file_and_env_values(args.config).items()}
    for name, kind in CLIENT_OPTIONS.items():
        if getattr(args, name, None) is None and values.get(name) not in (None, ""):
            setattr(args, name, kind(values[name]))
    if args.bootstrap_server is None:
        # A config file written for `odradek serve` says where that broker listens.
        host = values.get("advertised_host") or values.get("host")
        port = values.get("advertised_port") or values.get("port")
        args.bootstrap_server = (f"{host or '127.0.0.1'}:{port or 9092}" if host or port
                                 else DEFAULT_BOOTSTRAP)
    args.output = args.output or "table"
    args.timeout = args.timeout or 30.0
    args.client_id = args.client_id or "odradek-cli"


def client_for(args: argparse.Namespace):
    from ..client import Client

    return Client(args.bootstrap_server, client_id=args.client_id, timeout=args.timeout,
                  security=security_for(args))


def security_for(args: argparse.Namespace):
    """TLS and SASL settings from --command-config and -X (None: plaintext)."""
    from ..broker.settings import ConfigError, read_properties
    from ..client import ClientSecurity

    props: dict[str, str] = {}
    if args.command_config is not None:
        try:
            props.update(read_properties(args.command_config))
        except OSError as exc:
            raise CommandError(f"cannot read {args.command_config}: {exc}") from None
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
    props.update(parse_key_values(args.properties, "-X"))
    return ClientSecurity.from_properties(props) if props else None


def run(coro) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------- output


def emit(args: argparse.Namespace, data: Any, table: list[dict] | None = None,
         columns: list[str] | None = None, title: str | None = None) -> None:
    """JSON of `data` with --output json, else a table of `table` rows (default: data)."""
    if args.output == "json":
        print(json.dumps(data, indent=2, default=_json_default))
        return
    if title:
        print(title)
    rows = data if table is None else table
    print_table(rows, columns)


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    if not rows:
        if columns:
            print("  ".join(c.upper() for c in columns))
        return
    columns = columns or list(rows[0])
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


class Progress:
    """Counts and rates on stderr while a long run goes on (only when stderr is a terminal),
    and a one-line summary at the end (unless --quiet)."""

    def __init__(self, what: str, quiet: bool = False) -> None:
        self.what = what
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.count = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last = self.started

    def add(self, records: int, nbytes: int) -> None:
        self.count += records
        self.bytes += nbytes
        if self.live:
            now = time.monotonic()
            if now - self._last >= 0.5:
                self._last = now
                sys.stderr.write(f"\r{self._line(now)}   ")
                sys.stderr.flush()

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        return (f"{self.what} {self.count} records, {_size(self.bytes)} in {elapsed:.1f} s "
                f"({self.count / elapsed:,.0f} records/s, {_size(self.bytes / elapsed)}/s)")

    def done(self) -> None:
        if self.quiet:
            return
        if self.live:
            sys.stderr.write("\r")
        sys.stderr.write(self._line(time.monotonic()) + "\n")
        sys.stderr.flush()


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def parse_key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"{what} expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out
