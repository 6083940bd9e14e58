"""ListOffsets special timestamps and timestamp lookup, and Metadata v12 for a topic and for
all topics (does __consumer_offsets appear, with is_internal?).

    python probe_offsets_metadata.py 127.0.0.1:19092
"""

import time

from kio.schema.find_coordinator.v6.request import FindCoordinatorRequest
from kio.static.primitive import i8
from kwire import Conn, create_topics, list_offsets, metadata, plain, produce, record_batch

RUN = str(int(time.time()))


def main() -> None:
    conn = Conn()
    topic = f"probe-offsets-{RUN}"
    create_topics(conn, [(topic, 1, 1, {})])

    print("## ListOffsets v11 on an empty partition\n")
    for ts in (-1, -2, -3, 0):
        r = list_offsets(conn, topic, 0, ts)
        print(f"timestamp={ts}: {plain(r)}")

    # Offsets 0..4 with timestamps base+0, +3000, +1000, +2000 (two batches) and +1500:
    # the max timestamp sits at offset 1, not at the end.
    base = int(time.time() * 1000) - 60_000
    produce(
        conn,
        topic,
        0,
        record_batch(
            [
                (b"k0", b"v", [], base),
                (b"k1", b"v", [], base + 3000),
                (b"k2", b"v", [], base + 1000),
            ]
        ),
    )
    produce(
        conn,
        topic,
        0,
        record_batch([(b"k3", b"v", [], base + 2000), (b"k4", b"v", [], base + 1500)]),
    )
    print(
        f"\n## ListOffsets v11 after 5 records; base={base}; record timestamps "
        "offset0=base, 1=base+3000, 2=base+1000 (batch 1), 3=base+2000, 4=base+1500 (batch 2)\n"
    )
    for label, ts in [
        ("-1 latest", -1),
        ("-2 earliest", -2),
        ("-3 max timestamp", -3),
        ("-4 earliest local", -4),
        ("-5 latest tiered", -5),
        ("base-1", base - 1),
        ("base", base),
        ("base+1", base + 1),
        ("base+1000", base + 1000),
        ("base+1200", base + 1200),
        ("base+2500", base + 2500),
        ("base+3000", base + 3000),
        ("base+3001 (after all)", base + 3001),
    ]:
        r = list_offsets(conn, topic, 0, ts)
        rel = f"base{r.timestamp - base:+d}" if r.timestamp >= 0 else "none"
        print(
            f"timestamp {label}: error={int(r.error_code)} offset={r.offset} "
            f"timestamp={r.timestamp} ({rel}) leader_epoch={r.leader_epoch}"
        )

    print("\n## Metadata v12 for the topic\n")
    md = metadata(conn, [topic])
    print(plain(md))

    print("\n## Metadata v12, all topics (topics=null), before this probe's FindCoordinator\n")
    md = metadata(conn, None)
    print(
        [(t.name, t.is_internal) for t in md.topics if t.name.startswith("__")]
        or "no topic named __*"
    )
    print(f"{len(md.topics)} topics")

    print("\n## FindCoordinator v6 (group 'probe-group'), which creates __consumer_offsets\n")
    for _ in range(10):
        fc = conn.call(FindCoordinatorRequest(key_type=i8(0), coordinator_keys=("probe-group",)))[2]
        print(plain(fc))
        if fc.coordinators[0].error_code == 0:
            break
        time.sleep(0.5)
    md = metadata(conn, None)
    for t in md.topics:
        if t.name.startswith("__"):
            print(
                f"all-topics Metadata: {t.name} is_internal={t.is_internal} "
                f"partitions={len(t.partitions)} topic_id={t.topic_id}"
            )
    md = metadata(conn, ["__consumer_offsets"])
    t = md.topics[0]
    print(
        f"by-name Metadata: {t.name} error={int(t.error_code)} is_internal={t.is_internal} "
        f"partitions={len(t.partitions)} first={plain(t.partitions[0]) if t.partitions else None}"
    )
    conn.close()


if __name__ == "__main__":
    main()
