"""`odradek cluster info`: cluster id, controller, brokers, topic and group counts, and the API
versions the broker serves (with the version this client uses for each)."""

from __future__ import annotations

import argparse

from .common import add_client_options, client_for, emit, print_table, run


def add_parser(commands) -> None:
    cluster = commands.add_parser("cluster", help="what the cluster is made of")
    sub = cluster.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("info", help="cluster id, controller, brokers, topics, API versions")
    p.add_argument("--api-versions", action="store_true",
                   help="also list every API the broker serves, with its version range")
    add_client_options(p)
    p.set_defaults(func=info)


def info(args: argparse.Namespace) -> int:
    from ..client.connection import CLIENT_MAX_VERSIONS
    from ..protocol.api_keys import ApiKey

    async def go():
        async with client_for(args) as client:
            cluster = await client.describe_cluster()
            md = await client.metadata(None)
            groups = await client.list_groups()
            conn = await client.connect()
            apis = []
            for key, (low, high) in sorted(conn.versions.items()):
                try:
                    name = ApiKey(key).name
                except ValueError:
                    name = f"API_{key}"
                used = None
                if key in CLIENT_MAX_VERSIONS:
                    try:
                        used = conn.version_for(key)
                    except Exception:  # no common version
                        used = None
                apis.append({"api_key": key, "name": name, "min_version": low,
                             "max_version": high, "client_version": used})
            return {
                "bootstrap_server": args.bootstrap_server,
                "cluster_id": cluster["cluster_id"], "controller_id": cluster["controller_id"],
                "brokers": [{"node_id": b.node_id, "host": b.host, "port": b.port,
                             "rack": b.rack} for b in cluster["brokers"]],
                "topics": len([t for t in md.topics.values() if not t.is_internal]),
                "partitions": sum(len(t.partitions) for t in md.topics.values()
                                  if not t.is_internal),
                "groups": len(groups), "api_versions": apis}

    data = run(go())
    if args.output == "json":
        emit(args, data)
        return 0
    print(f"Cluster id: {data['cluster_id']}")
    print(f"Controller: {data['controller_id']}")
    print(f"Topics: {data['topics']} ({data['partitions']} partitions)  "
          f"Groups: {data['groups']}")
    print()
    print_table(data["brokers"], ["node_id", "host", "port", "rack"])
    if args.api_versions:
        print()
        print_table(data["api_versions"], ["api_key", "name", "min_version", "max_version",
                                           "client_version"])
    return 0
