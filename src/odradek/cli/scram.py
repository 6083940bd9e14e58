"""`odradek scram set|delete|list`: SASL/SCRAM users (SCRAM-SHA-256 / SCRAM-SHA-512).

Online (default): AlterUserScramCredentials / DescribeUserScramCredentials sent to
`--bootstrap-server`, so it works against Apache Kafka as well; the password is salted and
hashed here, only the salted password goes over the wire. The CLI connects without TLS/SASL:
use a PLAINTEXT listener (with ALTER / DESCRIBE on the cluster for its principal, or no
authorizer). Offline: `--data-dir DIR` writes the broker's metadata store directly, e.g. to
create the first admin user before the broker starts (like Kafka's
`kafka-storage format --add-scram`); restart a running broker afterwards.

The password is read from `--password-file`, else from standard input when it is not a
terminal, else prompted for; it is never printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path

from .common import CommandError, add_client_options, client_for, emit, run

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def add_parser(commands) -> None:
    scram = commands.add_parser("scram", help="SASL/SCRAM users (set, delete, list)")
    sub = scram.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("set", help="create a user or change its password")
    p.add_argument("user")
    p.add_argument("--mechanism", choices=MECHANISMS, action="append",
                   help="SCRAM-SHA-256 and/or SCRAM-SHA-512 (default: both)")
    p.add_argument("--iterations", type=int, default=4096, help="4096..16384 (default 4096)")
    p.add_argument("--password-file", type=Path,
                   help="read the password from this file ('-': standard input)")
    _common(p, set_user)
    p = sub.add_parser("delete", help="delete a user's credentials")
    p.add_argument("user")
    p.add_argument("--mechanism", choices=MECHANISMS, action="append",
                   help="default: every mechanism the user has")
    _common(p, delete_user)
    p = sub.add_parser("list", help="users with their mechanisms and iterations")
    p.add_argument("users", nargs="*", help="default: every user")
    _common(p, list_users)


def _common(p: argparse.ArgumentParser, func) -> None:
    p.add_argument("--data-dir", type=Path,
                   help="offline: change the metadata store in this data directory directly")
    add_client_options(p)
    p.set_defaults(func=func)


def read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        text = (sys.stdin.read() if str(args.password_file) == "-"
                else args.password_file.read_text())
        password = text.splitlines()[0] if text else ""
    elif not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.user}: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords differ")
    if not password:
        raise CommandError("empty password")
    return password


# --------------------------------------------------------------------------- offline


def _store(args: argparse.Namespace):
    from ..meta.sqlite import SqliteMetadataStore
    from ..security.scram import ScramCredentials

    if not args.data_dir.is_dir():
        raise CommandError(f"{args.data_dir} is not a directory")
    store = SqliteMetadataStore(args.data_dir / "metadata.db")
    return store, ScramCredentials(store)


# --------------------------------------------------------------------------- commands


def set_user(args: argparse.Namespace) -> int:
    from ..security.scram import MAX_ITERATIONS, salted_password
    from ..security.scram import MECHANISMS as BY_NAME

    mechanisms = args.mechanism or list(MECHANISMS)
    if not 4096 <= args.iterations <= MAX_ITERATIONS:
        raise CommandError(f"--iterations must be within 4096..{MAX_ITERATIONS}")
    password = read_password(args)
    if args.data_dir is not None:
        store, creds = _store(args)
        try:
            for m in mechanisms:
                creds.set_password(args.user, m, password, args.iterations)
        finally:
            store.close()
    else:
        upsertions = []
        for m in mechanisms:
            mechanism = BY_NAME[m]
            salt = secrets.token_bytes(32)
            upsertions.append({
                "name": args.user, "mechanism": mechanism.type_id,
                "iterations": args.iterations, "salt": salt,
                "salted_password": salted_password(mechanism, password, salt,
                                                   args.iterations)})
        # One request per mechanism: Kafka refuses a user twice in one request.
        for upsertion in upsertions:
            _alter(args, [], [upsertion])
    if not args.quiet:
        print(f"{args.user}: {', '.join(mechanisms)} set", file=sys.stderr)
    return 0


def delete_user(args: argparse.Namespace) -> int:
    if args.data_dir is not None:
        store, creds = _store(args)
        try:
            mechanisms = args.mechanism or list(creds.users().get(args.user, {}))
            if not mechanisms or not all([creds.delete(args.user, m) for m in mechanisms]):
                raise CommandError(f"{args.user} has no such SCRAM credential")
        finally:
            store.close()
    else:
        from ..security.scram import MECHANISMS as BY_NAME

        mechanisms = args.mechanism or [
            c["mechanism"] for c in _describe(args, [args.user])[0]["credentials"]]
        for m in mechanisms:
            _alter(args, [{"name": args.user, "mechanism": BY_NAME[m].type_id}], [])
    if not args.quiet:
        print(f"{args.user}: {', '.join(mechanisms)} deleted", file=sys.stderr)
    return 0


def list_users(args: argparse.Namespace) -> int:
    if args.data_dir is not None:
        store, creds = _store(args)
        try:
            users = creds.users()
            rows = [{"user": u, "credentials": [{"mechanism": m, "iterations": c.iterations}
                                                for m, c in users.get(u, {}).items()],
                     "error": None if u in users else "no SCRAM credential"}
                    for u in (args.users or sorted(users))]
        finally:
            store.close()
    else:
        rows = _describe(args, args.users)
    table = [{"user": r["user"], "mechanisms": [c["mechanism"] for c in r["credentials"]],
              "iterations": [c["iterations"] for c in r["credentials"]], "error": r["error"]}
             for r in rows]
    emit(args, rows, table, ["user", "mechanisms", "iterations", "error"])
    return 0


# --------------------------------------------------------------------------- online


def _alter(args: argparse.Namespace, deletions: list, upsertions: list) -> None:
    from ..protocol.api_keys import ApiKey

    async def go():
        async with client_for(args) as client:
            conn = await client.connect()
            return await conn.request(ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
                                      {"deletions": deletions, "upsertions": upsertions})

    for result in run(go()).results:
        if result.error_code:
            raise CommandError(f"{result.user}: {result.error_code.name}"
                               f"{': ' + result.error_message if result.error_message else ''}")


def _describe(args: argparse.Namespace, users: list[str]) -> list[dict]:
    from ..protocol.api_keys import ApiKey
    from ..security.scram import MECHANISMS_BY_TYPE

    async def go():
        async with client_for(args) as client:
            conn = await client.connect()
            return await conn.request(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, {
                "users": [{"name": u} for u in users] or None})

    resp = run(go())
    if resp.error_code:
        raise CommandError(f"{resp.error_code.name}: {resp.error_message or ''}")
    return [{"user": r.user,
             "credentials": [{"mechanism": MECHANISMS_BY_TYPE[c.mechanism].name,
                              "iterations": c.iterations} for c in r.credential_infos],
             "error": r.error_message if r.error_code else None}
            for r in sorted(resp.results, key=lambda r: r.user)]
