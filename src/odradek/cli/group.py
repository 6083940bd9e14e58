"""`odradek group list|describe|delete|reset-offsets`."""

from __future__ import annotations

import argparse
import datetime

from ..client import EARLIEST, LATEST
from .common import CommandError, add_client_options, client_for, emit, print_table, run


def add_parser(commands) -> None:
    group = commands.add_parser("group", help="consumer groups: list, describe, delete, "
                                "reset offsets")
    sub = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list consumer groups")
    add_client_options(p)
    p.set_defaults(func=list_groups)

    p = sub.add_parser("describe", help="members, committed offsets and lag of groups")
    p.add_argument("groups", nargs="+")
    add_client_options(p)
    p.set_defaults(func=describe)

    p = sub.add_parser("delete", help="delete (empty) groups and their committed offsets")
    p.add_argument("groups", nargs="+")
    add_client_options(p)
    p.set_defaults(func=delete)

    p = sub.add_parser("reset-offsets", help="move an inactive group's committed offsets")
    p.add_argument("group")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--topic", action="append", default=[], metavar="TOPIC[:P,P...]",
                       help="a topic, or some of its partitions (repeatable)")
    which.add_argument("--all-topics", action="store_true",
                       help="every topic the group has committed offsets for")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-earliest", action="store_true", help="the log start offset")
    to.add_argument("--to-latest", action="store_true", help="the log end offset")
    to.add_argument("--to-datetime", metavar="ISO8601",
                    help="the first record at or after this time, e.g. 2025-01-31T12:00:00 "
                    "(local time unless it has a zone)")
    to.add_argument("--to-offset", type=int, metavar="N", help="this offset")
    to.add_argument("--shift-by", type=int, metavar="N",
                    help="move the committed offset by N (negative: back)")
    p.add_argument("--dry-run", action="store_true", help="show the new offsets, change nothing")
    add_client_options(p)
    p.set_defaults(func=reset_offsets)


def list_groups(args: argparse.Namespace) -> int:
    async def go():
        async with client_for(args) as client:
            return await client.list_groups()

    groups = run(go())
    emit(args, groups, columns=["group_id", "type", "state", "protocol_type"])
    return 0


async def _describe_one(client, group_id: str) -> dict:
    desc = await client.describe_group(group_id)
    committed = await client.committed_offsets(group_id)
    owner = {}
    for m in desc.members:
        for topic, parts in m.assignment.items():
            for p in parts:
                owner[(topic, p)] = m
    tps = sorted(set(committed) | set(owner))
    ends = await client.list_offsets({tp: LATEST for tp in tps}) if tps else {}
    partitions = []
    for tp in tps:
        member = owner.get(tp)
        current = committed.get(tp)
        end = ends[tp][0]
        partitions.append({
            "topic": tp[0], "partition": tp[1], "current_offset": current,
            "log_end_offset": end, "lag": end - current if current is not None else None,
            "member_id": member.member_id if member else None,
            "client_id": member.client_id if member else None,
            "host": member.client_host if member else None})
    return {"group_id": group_id, "state": desc.state, "type": desc.group_type,
            "protocol": desc.protocol or None, "error": None if not desc.error_code
            else "GROUP_ID_NOT_FOUND",
            "members": [{"member_id": m.member_id, "client_id": m.client_id,
                         "host": m.client_host, "instance_id": m.instance_id,
                         "assignment": {t: ps for t, ps in sorted(m.assignment.items())}}
                        for m in desc.members],
            "partitions": partitions,
            "total_lag": sum(p["lag"] or 0 for p in partitions)}


def describe(args: argparse.Namespace) -> int:
    async def go():
        async with client_for(args) as client:
            return [await _describe_one(client, g) for g in args.groups]

    groups = run(go())
    if args.output == "json":
        emit(args, groups)
        return 0
    for i, g in enumerate(groups):
        if i:
            print()
        if g["error"] and not g["partitions"]:
            print(f"Group {g['group_id']}: does not exist.")
            continue
        print(f"Group: {g['group_id']}  type: {g['type'] or '-'}  state: {g['state']}  "
              f"members: {len(g['members'])}  total lag: {g['total_lag']}")
        print_table(g["partitions"], ["topic", "partition", "current_offset", "log_end_offset",
                                      "lag", "member_id", "host", "client_id"])
    return 0


def delete(args: argparse.Namespace) -> int:
    from ..client import KafkaClientError
    from ..protocol.errors import ErrorCode

    async def go():
        async with client_for(args) as client:
            return await client.delete_groups(args.groups)

    results = run(go())
    rows = [{"group_id": g, "deleted": not code,
             "error": ErrorCode(code).name.upper() if code else None}
            for g, code in results.items()]
    if args.output == "json":
        emit(args, rows)
    else:
        for r in rows:
            print(f"Deleted group {r['group_id']}." if r["deleted"]
                  else f"Group {r['group_id']}: {r['error']}.")
    failed = next((code for code in results.values() if code), 0)
    if failed:
        raise KafkaClientError(failed, "group delete")
    return 0


def _parse_datetime(text: str) -> int:
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--to-datetime: cannot parse {text!r} (ISO 8601 expected)") from None
    if when.tzinfo is None:
        when = when.astimezone()  # local time, as Kafka's tool
    return int(when.timestamp() * 1000)


def reset_offsets(args: argparse.Namespace) -> int:
    async def go():
        async with client_for(args) as client:
            desc = await client.describe_group(args.group)
            if desc.state not in ("Empty", "Dead") or desc.members:
                raise CommandError(
                    f"group {args.group} is {desc.state} with {len(desc.members)} member(s): "
                    "offsets can only be reset while the group is inactive")
            committed = await client.committed_offsets(args.group)
            if args.all_topics:
                tps = sorted(committed)
                if not tps:
                    raise CommandError(f"group {args.group} has no committed offsets; "
                                       "name the topics with --topic")
            else:
                tps = []
                for spec in args.topic:
                    name, _, parts = spec.partition(":")
                    info = await client.topic(name)
                    indexes = ([int(p) for p in parts.split(",")] if parts
                               else [p.index for p in info.partitions])
                    tps += [(name, p) for p in indexes]
            earliest = await client.list_offsets({tp: EARLIEST for tp in tps})
            latest = await client.list_offsets({tp: LATEST for tp in tps})
            by_time = {}
            if args.to_datetime:
                ts = _parse_datetime(args.to_datetime)
                by_time = await client.list_offsets({tp: ts for tp in tps})
            new = {}
            for tp in tps:
                low, high = earliest[tp][0], latest[tp][0]
                if args.to_earliest:
                    target = low
                elif args.to_latest:
                    target = high
                elif args.to_offset is not None:
                    target = args.to_offset
                elif args.to_datetime:
                    target = by_time[tp][0] if by_time[tp][0] >= 0 else high
                else:
                    target = committed.get(tp, high) + args.shift_by
                new[tp] = min(max(target, low), high)
            if not args.dry_run:
                await client.commit_offsets(args.group, new)
            return [{"group_id": args.group, "topic": t, "partition": p,
                     "previous_offset": committed.get((t, p)), "new_offset": new[(t, p)]}
                    for t, p in tps]

    rows = run(go())
    if args.output == "json":
        emit(args, {"dry_run": args.dry_run, "offsets": rows})
        return 0
    print_table(rows, ["group_id", "topic", "partition", "previous_offset", "new_offset"])
    if args.dry_run:
        print("(dry run: nothing changed)")
    return 0
