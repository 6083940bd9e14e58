"""100,000 fuzzed frames against a running broker: it answers or closes the connection,
never crashes, and a well-behaved client on another connection is served throughout."""

from __future__ import annotations

import os
import random
import select
import socket
import struct
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odradek.protocol import codec
from odradek.protocol.headers import decode_request_header
from odradek.protocol.primitives import DecodeError
from odradek.protocol.produce import decode_produce_request
from odradek.protocol.records import CorruptRecordError, build_batch, validate_batches
from tests.integration.test_wire import fetch_req, make_topic, produce_result
from tests.support.fuzz import mutate, request_corpus
from tests.support.wire import WireClient

FRAMES = int(os.environ.get("ODRADEK_FUZZ_FRAMES", "100000"))


class Fuzzer:
    """Sends one frame at a time and waits for its answer or for the broker to hang up.

    A frame the broker parks (a valid long-poll Fetch, a JoinGroup waiting for its group)
    or does not answer (acks=0) gets a short wait, then a new connection; otherwise the
    next frames would only queue behind it and never be looked at."""

    def __init__(self, bootstrap: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.address = (host, int(port))
        self.sock: socket.socket | None = None
        self.answered = self.closed_by_broker = self.parked = 0

    def send(self, data: bytes) -> None:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=1)
        try:
            self.sock.sendall(data)
            ready, _, _ = select.select([self.sock], [], [], 0.02)
            if not ready:
                self.parked += 1
                self._reset()
                return
            head = self.sock.recv(4)
            if len(head) < 4:
                raise ConnectionError("closed")
            size = struct.unpack(">i", head)[0]
            while size > 0:
                size -= len(self.sock.recv(min(size, 1 << 20)) or b"x" * size)
            self.answered += 1
        except (OSError, ConnectionError):
            self.closed_by_broker += 1
            self._reset()

    def _reset(self) -> None:
        self.sock.close()
        self.sock = None


def test_fuzzed_frames_do_not_hurt_the_broker(make_broker, topic_name):
    b = make_broker(config={"auto.create.topics.enable": False})
    good = WireClient(b.bootstrap_servers)
    make_topic(good, "fuzz-topic")
    make_topic(good, topic_name)
    corpus = request_corpus()
    stop = threading.Event()
    rounds: list[int] = []
    errors: list[BaseException] = []

    def well_behaved() -> None:
        try:
            while not stop.is_set():
                n = len(rounds)
                result = produce_result(good, topic_name, build_batch([(None, b"%d" % n)]))
                assert (result.error_code, result.base_offset) == (0, n)
                fetched = good.request(fetch_req(topic_name, n)).responses[0].partitions[0]
                assert fetched.error_code == 0 and fetched.high_watermark == n + 1
                rounds.append(n)
                stop.wait(0.002)
        except BaseException as exc:
            errors.append(exc)

    client = threading.Thread(target=well_behaved)
    client.start()
    fuzzers = [Fuzzer(b.bootstrap_servers) for _ in range(4)]

    def fuzz(fuzzer: Fuzzer, seed: int) -> None:
        rng = random.Random(seed)
        for i in range(FRAMES // len(fuzzers)):
            key, version, body = corpus[rng.randrange(len(corpus))]
            fuzzer.send(mutate(rng, key, version, body, i))

    # Several connections at once, so a parked frame on one does not idle the broker.
    threads = [threading.Thread(target=fuzz, args=(f, 20261126 + n))
               for n, f in enumerate(fuzzers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()
        client.join(30)
    answered = sum(f.answered for f in fuzzers)
    refused = sum(f.closed_by_broker for f in fuzzers)
    parked = sum(f.parked for f in fuzzers)
    assert not errors, errors
    print(f"fuzz: {FRAMES} frames: {answered} answered, {refused} refused (connection closed), "
          f"{parked} parked; {len(rounds)} good rounds")
    # bad frames were refused and the rest answered: none vanished into a stuck connection
    assert refused > FRAMES // 10
    assert answered + refused + parked == FRAMES // len(fuzzers) * len(fuzzers)
    assert len(rounds) > 10  # the good client was served all along
    # and the broker still serves new clients and its data is intact
    fresh = WireClient(b.bootstrap_servers)
    part = fresh.request(fetch_req(topic_name, 0)).responses[0].partitions[0]
    assert part.high_watermark == len(rounds)
    fresh.close()
    good.close()


# ----------------------------------------------------------------------- decoders alone


@settings(max_examples=3000, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300), st.integers(0, 92), st.integers(0, 20))
def test_request_decoders_raise_only_decode_errors(body, api_key, version):
    try:
        decode_request_header(memoryview(b"\x00" * 2 + body))
    except DecodeError:
        pass
    if codec.request_class(api_key, version) is not None:
        try:
            codec.decode_request(api_key, version, body)
        except DecodeError:
            pass
    if 3 <= version <= 13:
        try:
            decode_produce_request(memoryview(bytearray(body)), version)
        except DecodeError:
            pass


@settings(max_examples=2000, derandomize=True)
@given(st.binary(max_size=400))
def test_batch_validation_raises_only_corrupt_record(data):
    try:
        validate_batches(data)
    except CorruptRecordError:
        pass
