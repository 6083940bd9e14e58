"""DescribeConfigs v4 (include_synonyms, include_documentation) for a freshly created topic
and for the broker resource, printed as markdown tables.

    python probe_describe_configs.py 127.0.0.1:19092 [topic-name]
"""

import sys
import time

from kio.schema.describe_configs.v4.request import DescribeConfigsRequest, DescribeConfigsResource
from kio.static.primitive import i8
from kwire import Conn, create_topics

TOPIC, BROKER = 2, 4  # resource types
SOURCES = {
    0: "UNKNOWN",
    1: "TOPIC_CONFIG",
    2: "DYNAMIC_BROKER_CONFIG",
    3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
    4: "STATIC_BROKER_CONFIG",
    5: "DEFAULT_CONFIG",
    6: "DYNAMIC_BROKER_LOGGER_CONFIG",
    7: "CLIENT_METRICS_CONFIG",
    8: "GROUP_CONFIG",
}
TYPES = {
    0: "UNKNOWN",
    1: "BOOLEAN",
    2: "STRING",
    3: "INT",
    4: "SHORT",
    5: "LONG",
    6: "DOUBLE",
    7: "LIST",
    8: "CLASS",
    9: "PASSWORD",
}


def describe(conn: Conn, rtype: int, name: str):
    req = DescribeConfigsRequest(
        resources=(
            DescribeConfigsResource(
                resource_type=i8(rtype), resource_name=name, configuration_keys=None
            ),
        ),
        include_synonyms=True,
        include_documentation=True,
    )
    (result,) = conn.call(req)[2].results
    return result


def show(value) -> str:
    """Tell null from the empty string in the tables."""
    return "null" if value is None else (value if value != "" else '""')


def table(result) -> None:
    print(
        f"error_code={int(result.error_code)} error_message={result.error_message!r} "
        f"resource_type={result.resource_type} resource_name={result.resource_name!r} "
        f"configs={len(result.configs)}\n"
    )
    print(
        "| name | value | default (DEFAULT_CONFIG synonym) | source | read_only | is_sensitive "
        "| config_type | synonyms (name=value:source) | doc |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for c in sorted(result.configs, key=lambda c: c.name):
        default = next((show(s.value) for s in c.synonyms if s.source == 5), "(no synonym)")
        syn = "<br>".join(f"{s.name}={show(s.value)}:{SOURCES[s.source]}" for s in c.synonyms)
        doc = "yes" if c.documentation else repr(c.documentation)
        print(
            f"| {c.name} | {show(c.value)} | {default} | {SOURCES[c.config_source]} "
            f"| {c.read_only} | {c.is_sensitive} | {TYPES[c.config_type]} | {syn} | {doc} |"
        )


def main() -> None:
    topic = sys.argv[2] if len(sys.argv) > 2 else f"probe-configs-{int(time.time())}"
    conn = Conn()
    (created,) = create_topics(conn, [(topic, 1, 1, {})])
    print(f"CreateTopics {topic}: error_code={int(created.error_code)}\n")
    print(f"## Topic {topic}\n")
    table(describe(conn, TOPIC, topic))
    print("\n## Broker 1\n")
    table(describe(conn, BROKER, "1"))
    print("\n## Unknown topic\n")
    r = describe(conn, TOPIC, "no-such-topic")
    print(
        f"error_code={int(r.error_code)} ({r.error_code.name}) "
        f"error_message={r.error_message!r} configs={len(r.configs)}"
    )
    print("\n## Sample documentation (retention.ms)\n")
    c = next(c for c in describe(conn, TOPIC, topic).configs if c.name == "retention.ms")
    print(c.documentation)
    conn.close()


if __name__ == "__main__":
    main()
