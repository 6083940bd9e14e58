"""Bad input for the broker: valid requests of every served API version, then mutated.

The corpus comes from hypothesis strategies over kio's request classes (kio registers
strategies for its primitive types); mutations are seeded, so a run is reproducible.
"""

from __future__ import annotations

import datetime
import importlib
import random
import struct
import warnings

from hypothesis import strategies as st
from kio.static import primitive

from odradek.handlers import HANDLERS
from odradek.protocol.api_keys import ApiKey
from odradek.protocol.codec import encode, is_flexible, request_class
from odradek.protocol.records import build_batch

st.register_type_strategy(primitive.Records, st.binary(max_size=300).map(primitive.Records))

# APIs that create lasting resources: a valid request, kept valid by a lucky mutation, could
# create thousands of topics with random names. They are fuzzed by targeted tests instead.
SKIPPED = {ApiKey.CREATE_TOPICS, ApiKey.CREATE_PARTITIONS, ApiKey.DELETE_TOPICS}


def request_corpus(per_version: int = 3) -> list[tuple[int, int, bytes]]:
    """(api key, version, encoded body) of valid requests for every served version."""
    corpus = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hypothesis: .example() outside a test
        for key, spec in sorted(HANDLERS.items()):
            if key in SKIPPED:
                continue
            for version in range(spec.min_version, spec.max_version + 1):
                strategy = st.from_type(request_class(key, version))
                for _ in range(per_version):
                    corpus.append((key, version, encode(strategy.example())))
    return corpus


def frame(api_key: int, version: int, body: bytes, correlation: int) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation, 4) + b"fuzz"
    if is_flexible(api_key, version):
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def bad_batches(rng: random.Random) -> bytes:
    """Record batches that must be refused: bad CRC, wrong counts, bad lengths, bad magic."""
    batch = bytearray(build_batch([(b"k", rng.randbytes(rng.randrange(50)))
                                   for _ in range(rng.randrange(1, 4))]))
    kind = rng.randrange(5)
    if kind == 0:
        batch[-1] ^= 0xFF  # CRC no longer matches
    elif kind == 1:
        struct.pack_into(">i", batch, 57, rng.choice([0, -1, 2**31 - 1, 7]))  # record count
    elif kind == 2:
        struct.pack_into(">i", batch, 8, rng.choice([0, -5, 2**31 - 1, len(batch)]))  # length
    elif kind == 3:
        batch[16] = rng.choice([0, 1, 3, 255])  # magic
    else:
        batch = batch[: rng.randrange(1, len(batch))]  # torn
    return bytes(batch)


def mutate(rng: random.Random, api_key: int, version: int, body: bytes,
           correlation: int) -> bytes:
    """One fuzzed frame from a valid request."""
    kind = rng.randrange(10)
    data = bytearray(body)
    if kind == 0 and data:  # flip bits
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncate
        data = data[: rng.randrange(len(data) + 1)]
    elif kind == 2 and len(data) >= 4:  # a huge or negative length / array count
        i = rng.randrange(len(data) - 3)
        struct.pack_into(">i", data, i, rng.choice([2**31 - 1, -2, 0x7FFF0000, 65536]))
    elif kind == 3:  # garbage appended
        data += rng.randbytes(rng.randrange(1, 64))
    elif kind == 4:  # a version we may not serve
        version = rng.choice([-1, 0, version + 1, 99, 32767])
    elif kind == 5:  # an API key that does not exist
        api_key = rng.choice([-1, 93, 200, 32767])
    elif kind == 6:  # random bytes
        data = bytearray(rng.randbytes(rng.randrange(0, 80)))
    elif kind == 7:  # a produce request carrying a bad batch
        api_key, version = ApiKey.PRODUCE, rng.choice([3, 8, 9, 12])
        data = bytearray(produce_body(version, "fuzz-topic", bad_batches(rng)))
    elif kind == 8 and len(data) >= 2:  # a huge varint (compact lengths, tagged fields)
        i = rng.randrange(len(data))
        data[i:i] = b"\xff\xff\xff\xff\x0f"
    raw = bytearray(frame(api_key, version, bytes(data), correlation))
    if kind == 9:  # a frame size that lies
        struct.pack_into(">i", raw, 0, rng.choice([-1, 0, 1, len(raw) + 100, 2**31 - 1,
                                                    len(raw) - 8]))
    return bytes(raw)


def produce_body(version: int, topic: str, records: bytes) -> bytes:
    """A ProduceRequest body (v3-12: topics by name) for one partition."""
    cls = request_class(ApiKey.PRODUCE, version)
    schema = importlib.import_module(cls.__module__)
    req = cls(transactional_id=None, acks=1, timeout=datetime.timedelta(seconds=1),
              topic_data=(schema.TopicProduceData(name=topic, partition_data=(
                  schema.PartitionProduceData(index=0, records=records),)),))
    return encode(req)
