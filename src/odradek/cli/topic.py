"""`odradek topic create|list|describe|alter|delete`."""

from __future__ import annotations

import argparse

from ..client import EARLIEST, LATEST
from .common import add_client_options, client_for, emit, parse_key_values, print_table, run


def add_parser(commands) -> None:
    topic = commands.add_parser("topic", help="create, list, describe, alter, delete topics")
    sub = topic.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = sub.add_parser("create", help="create a topic")
    p.add_argument("name")
    p.add_argument("-p", "--partitions", type=int, default=-1,
                   help="number of partitions (default: the broker's num.partitions)")
    p.add_argument("-r", "--replication-factor", type=int, default=-1,
                   help="replicas per partition (default: the broker's)")
    p.add_argument("-c", "--config", dest="topic_config", action="append", default=[],
                   metavar="NAME=VALUE", help="a topic config, e.g. -c retention.ms=60000")
    p.add_argument("--if-not-exists", action="store_true", help="no error if it exists")
    add_client_options(p)
    p.set_defaults(func=create)

    p = sub.add_parser("list", help="list topics")
    p.add_argument("--internal", action="store_true", help="include internal topics")
    add_client_options(p)
    p.set_defaults(func=list_topics)

    p = sub.add_parser("describe", help="partitions, offsets and configs of topics")
    p.add_argument("names", nargs="*", help="topics (default: all)")
    p.add_argument("--all-configs", action="store_true",
                   help="show every config, not only those set on the topic")
    add_client_options(p)
    p.set_defaults(func=describe)

    p = sub.add_parser("alter", help="add partitions, set or delete topic configs")
    p.add_argument("name")
    p.add_argument("-p", "--partitions", type=int, help="new (larger) number of partitions")
    p.add_argument("-c", "--config", dest="topic_config", action="append", default=[],
                   metavar="NAME=VALUE", help="set a topic config")
    p.add_argument("-d", "--delete-config", action="append", default=[], metavar="NAME",
                   help="remove a topic config (back to the broker default)")
    add_client_options(p)
    p.set_defaults(func=alter)

    p = sub.add_parser("delete", help="delete topics")
    p.add_argument("names", nargs="+")
    p.add_argument("--if-exists", action="store_true", help="no error if a topic is missing")
    add_client_options(p)
    p.set_defaults(func=delete)


def create(args: argparse.Namespace) -> int:
    from ..client import KafkaClientError
    from ..protocol.errors import ErrorCode

    configs = parse_key_values(args.topic_config, "--config")

    async def go():
        async with client_for(args) as client:
            try:
                r = await client.create_topic(args.name, args.partitions,
                                              args.replication_factor, configs)
            except KafkaClientError as exc:
                if args.if_not_exists and exc.code == ErrorCode.topic_already_exists:
                    return {"name": args.name, "created": False}
                raise
            return {"name": args.name, "created": True, "topic_id": str(r.topic_id)
                    if getattr(r, "topic_id", None) else None,
                    "partitions": r.num_partitions, "replication_factor": r.replication_factor}

    result = run(go())
    if args.output == "json":
        emit(args, result)
    elif result["created"]:
        print(f"Created topic {args.name} ({result['partitions']} partition(s), "
              f"replication factor {result['replication_factor']}).")
    else:
        print(f"Topic {args.name} already exists.")
    return 0


def list_topics(args: argparse.Namespace) -> int:
    async def go():
        async with client_for(args) as client:
            info = await client.metadata(None)
            return [{"name": t.name, "partitions": len(t.partitions),
                     "replication_factor": len(t.partitions[0].replicas) if t.partitions else 0,
                     "internal": t.is_internal}
                    for t in sorted(info.topics.values(), key=lambda t: t.name)
                    if args.internal or not t.is_internal]

    topics = run(go())
    emit(args, topics, columns=["name", "partitions", "replication_factor"])
    return 0


def describe(args: argparse.Namespace) -> int:
    async def go():
        async with client_for(args) as client:
            if args.names:
                infos = [await client.topic(n) for n in args.names]
            else:
                md = await client.metadata(None)
                infos = sorted((t for t in md.topics.values() if not t.is_internal),
                               key=lambda t: t.name)
            tps = [(t.name, p.index) for t in infos for p in t.partitions]
            earliest = await client.list_offsets({tp: EARLIEST for tp in tps})
            latest = await client.list_offsets({tp: LATEST for tp in tps})
            out = []
            for t in infos:
                configs = await client.describe_configs(2, t.name)
                if not args.all_configs:
                    configs = [c for c in configs if c["source"] == "DYNAMIC_TOPIC_CONFIG"]
                out.append({
                    "name": t.name, "topic_id": str(t.topic_id) if t.topic_id else None,
                    "internal": t.is_internal,
                    "configs": {c["name"]: c["value"] for c in configs},
                    "partitions": [{
                        "partition": p.index, "leader": p.leader, "replicas": p.replicas,
                        "isr": p.isr, "earliest_offset": earliest[(t.name, p.index)][0],
                        "latest_offset": latest[(t.name, p.index)][0],
                        "records": latest[(t.name, p.index)][0]
                        - earliest[(t.name, p.index)][0]}
                        for p in t.partitions]})
            return out

    topics = run(go())
    if args.output == "json":
        emit(args, topics)
        return 0
    for i, t in enumerate(topics):
        if i:
            print()
        configs = ", ".join(f"{k}={v}" for k, v in sorted(t["configs"].items())) or "-"
        print(f"Topic: {t['name']}  id: {t['topic_id']}  partitions: {len(t['partitions'])}  "
              f"configs: {configs}")
        print_table(t["partitions"], ["partition", "leader", "replicas", "isr",
                                      "earliest_offset", "latest_offset", "records"])
    return 0


def alter(args: argparse.Namespace) -> int:
    configs = parse_key_values(args.topic_config, "--config")
    if args.partitions is None and not configs and not args.delete_config:
        raise SystemExit("odradek topic alter: give --partitions, --config or --delete-config")

    async def go():
        async with client_for(args) as client:
            changes = []
            if args.partitions is not None:
                await client.create_partitions(args.name, args.partitions)
                changes.append(f"partitions={args.partitions}")
            if configs or args.delete_config:
                await client.alter_topic_configs(args.name, configs, args.delete_config)
                changes += [f"{k}={v}" for k, v in configs.items()]
                changes += [f"-{k}" for k in args.delete_config]
            return changes

    changes = run(go())
    if args.output == "json":
        emit(args, {"name": args.name, "changes": changes})
    else:
        print(f"Altered topic {args.name}: {', '.join(changes)}.")
    return 0


def delete(args: argparse.Namespace) -> int:
    from ..client import KafkaClientError
    from ..protocol.errors import ErrorCode

    async def go():
        async with client_for(args) as client:
            return await client.delete_topics(args.names)

    results = run(go())
    failed = None
    rows = []
    for name in args.names:
        code, message = results.get(name, (ErrorCode.unknown_topic_or_partition, None))
        missing = code == ErrorCode.unknown_topic_or_partition
        if code and not (missing and args.if_exists):
            failed = failed or KafkaClientError(code, message or name)
        rows.append({"name": name, "deleted": code == 0,
                     "error": ErrorCode(code).name.upper() if code else None})
    if args.output == "json":
        emit(args, rows)
    else:
        for r in rows:
            print(f"Deleted topic {r['name']}." if r["deleted"]
                  else f"Topic {r['name']}: {r['error']}.")
    if failed is not None:
        raise failed
    return 0
