"""The `odradek` command.

    odradek serve [...]                      run a broker (cli/serve.py)
    odradek topic create|list|describe|alter|delete
    odradek group list|describe|delete|reset-offsets
    odradek produce TOPIC / consume TOPIC    records from stdin / to stdout (cli/data.py)
    odradek cluster info
    odradek scram set|delete|list            SASL/SCRAM users (cli/scram.py)

Every command but `serve` is a Kafka client (`odradek.client`): it talks the Kafka protocol to
`--bootstrap-server`, so it works against Apache Kafka as well. Options come from flags, else
`ODRADEK_*` variables, else `odradek.toml`.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from .common import CommandError, resolve_client_options


def build_parser() -> argparse.ArgumentParser:
    from . import cluster, data, group, scram, serve, topic

    parser = argparse.ArgumentParser(
        prog="odradek", description="An event streaming broker that speaks the Kafka protocol, "
        "and the tools to use it (with any Kafka cluster).")
    parser.add_argument("--version", action="version", version=f"odradek {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.add_parser(commands)
    topic.add_parser(commands)
    group.add_parser(commands)
    data.add_parsers(commands)
    cluster.add_parser(commands)
    scram.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "serve":
        return args.func(args)
    from ..client import ClientError

    try:
        resolve_client_options(args)
        return args.func(args)
    except (CommandError, ClientError) as exc:
        print(f"odradek: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `odradek consume ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
