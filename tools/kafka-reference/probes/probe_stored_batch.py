"""Is a produced batch fetched back byte for byte? Produces one uncompressed batch twice
(so the second lands at base offset 3) and diffs the fetched bytes with the sent ones.

    python probe_stored_batch.py 127.0.0.1:19092
"""

import time

from kwire import Conn, create_topics, fetch, produce, record_batch

FIELDS = [
    (0, 8, "base_offset"),
    (8, 12, "batch_length"),
    (12, 16, "partition_leader_epoch"),
    (16, 17, "magic"),
    (17, 21, "crc"),
    (21, 23, "attributes"),
]


def main() -> None:
    conn = Conn()
    topic = f"probe-stored-{int(time.time())}"
    create_topics(conn, [(topic, 1, 1, {})])
    sent = record_batch([(b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(3)])
    produce(conn, topic, 0, sent)
    produce(conn, topic, 0, sent)
    got = fetch(conn, topic, 0, 3).records
    print(f"sent {len(sent)} bytes, fetched {len(got)} bytes from offset 3")
    diff = [i for i in range(min(len(sent), len(got))) if sent[i] != got[i]]
    for lo, hi, name in FIELDS:
        if any(lo <= i < hi for i in diff):
            print(f"  differs: {name}: sent {sent[lo:hi].hex()} stored {got[lo:hi].hex()}")
    print(
        "  bytes 21.. (everything the CRC covers):",
        "identical" if sent[21:] == got[21 : len(sent)] else "DIFFERENT",
    )
    conn.close()


if __name__ == "__main__":
    main()
