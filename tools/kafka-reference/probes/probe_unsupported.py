"""What the broker does with requests it does not serve: Produce v0-v2 (advertised as
min 0 but not served by Kafka 4), Fetch v3 (below the advertised min 4), ListOffsets v0,
an unknown API key, and Produce v14 (above max). Each is sent on a fresh connection and
the broker's answer (a frame, or a closed connection) is printed.

    python probe_unsupported.py 127.0.0.1:19092
"""

import struct

from kwire import Conn


def header_v1(api_key: int, version: int, correlation_id: int = 7) -> bytes:
    client = b"odradek-probe"
    return struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client


def try_request(label: str, payload: bytes) -> None:
    conn = Conn()
    try:
        frame = conn.send_raw(payload)
        print(f"{label}: response frame ({len(frame)} bytes) {frame[:64].hex()}")
    except (ConnectionError, OSError) as e:
        print(f"{label}: no response, connection closed ({type(e).__name__}: {e})")
    finally:
        conn.close()


def main() -> None:
    # Produce v0-v2 body: acks, timeout, [topic, [partition, message_set]] with an empty set.
    body = (
        struct.pack(">hih", -1, 1000, 1)
        + struct.pack(">h", 5)
        + b"probe"
        + struct.pack(">iii", 1, 0, 0)
    )
    for v in (0, 1, 2):
        try_request(f"Produce v{v}", header_v1(0, v) + body)
    # Fetch v3: replica_id, max_wait, min_bytes, max_bytes, [topic, [partition, offset, max]]
    fetch = (
        struct.pack(">iiii", -1, 100, 1, 1 << 20)
        + struct.pack(">ih", 1, 5)
        + b"probe"
        + struct.pack(">iiqi", 1, 0, 0, 1 << 20)
    )
    try_request("Fetch v3", header_v1(1, 3) + fetch)
    # ListOffsets v0: replica_id, [topic, [partition, timestamp, max_num_offsets]]
    lo = struct.pack(">iih", -1, 1, 5) + b"probe" + struct.pack(">iiqi", 1, 0, -1, 1)
    try_request("ListOffsets v0", header_v1(2, 0) + lo)
    try_request("unknown API key 999 v0", header_v1(999, 0))
    try_request("Produce v14 (above max 13)", header_v1(0, 14) + b"\x00" + body)


if __name__ == "__main__":
    main()
