"""ApiVersions probes: the v3 table, the tagged fields in the v3 response bytes, and the
answer to a version the broker does not support.

    python probe_api_versions.py 127.0.0.1:19092
"""

import struct

from kio.index import api_key_map
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.serial.readers import read_unsigned_varint
from kwire import Conn, plain

# Keys kio 0.6.5 has no schema for; names from kafka-clients 4.4.0's ApiKeys enum.
EXTRA_NAMES = {93: "streams_group_topology_description_update", 94: "unregister_controller"}


def tagged_fields_of_v3_body(body: bytes) -> list[tuple[int, int]]:
    """Walk the v3 body by hand (kio would hide unknown tags) and return [(tag, size)]."""
    pos = 2  # error_code
    n, k = read_unsigned_varint(body, pos)
    pos += k
    for _ in range(n - 1):
        pos += 2 + 2 + 2  # api_key, min, max
        assert body[pos] == 0, "per-api tagged fields present"
        pos += 1
    pos += 4  # throttle_time_ms
    count, k = read_unsigned_varint(body, pos)
    pos += k
    tags = []
    for _ in range(count):
        tag, k = read_unsigned_varint(body, pos)
        pos += k
        size, k = read_unsigned_varint(body, pos)
        pos += k
        tags.append((tag, size))
        pos += size
    assert pos == len(body)
    return tags


def main() -> None:
    conn = Conn()
    req = ApiVersionsRequest(client_software_name="odradek-probe", client_software_version="0")
    header, body, resp = conn.call(req)
    print("## ApiVersions v3")
    print(f"response header bytes: {header.hex()} (header v0: correlation id only)")
    print(f"error_code={resp.error_code!r} throttle_time_ms={plain(resp.throttle_time)}")
    print("| key | name | min | max |\n|---|---|---|---|")
    for a in resp.api_keys:
        name = api_key_map.get(a.api_key) or EXTRA_NAMES.get(a.api_key, "?")
        print(f"| {a.api_key} | {name} | {a.min_version} | {a.max_version} |")
    print("\ntop-level tagged fields present (tag, size):", tagged_fields_of_v3_body(body))
    print(
        "supported_features:",
        [(f.name, f.min_version, f.max_version) for f in resp.supported_features],
    )
    print("finalized_features_epoch:", resp.finalized_features_epoch)
    print(
        "finalized_features:",
        [(f.name, f.min_version_level, f.max_version_level) for f in resp.finalized_features],
    )

    # Unsupported version: the header says v6 / v127 (max is 5), the body is a v3 body.
    for version in (6, 127):
        frame = conn.send_raw(conn.encode(req, api_version=version))
        print(f"\n## ApiVersions request v{version} (v3 body)")
        print("response frame hex:", frame.hex())
        corr, err = struct.unpack(">ih", frame[:6])
        n = struct.unpack(">i", frame[6:10])[0]
        print(
            f"correlation_id={corr} error_code={err} api_keys array length (int32, v0 encoding)={n}"
        )
        print(
            "api_keys:", [struct.unpack(">hhh", frame[10 + 6 * i : 16 + 6 * i]) for i in range(n)]
        )
        print("bytes after api_keys:", frame[10 + 6 * n :].hex() or "(none)")

    # v4 differs from v3 only in which supported features are listed.
    from kio.schema.api_versions.v4.request import ApiVersionsRequest as V4

    header, body, resp = conn.call(
        V4(client_software_name="odradek-probe", client_software_version="0")
    )
    print("\n## ApiVersions v4")
    print(
        f"response header bytes: {header.hex()}; top-level tagged fields:",
        tagged_fields_of_v3_body(body),
    )
    print(
        "supported_features:",
        [(f.name, f.min_version, f.max_version) for f in resp.supported_features],
    )
    conn.close()


if __name__ == "__main__":
    main()
