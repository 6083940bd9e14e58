"""Produce: v3-13 (v0-2 advertised, as Kafka 4 does, but answered by closing the connection)

* v3: transactional_id; record batches v2 only (message format v0/v1 is out of scope)
* v5: log_start_offset in the response
* v7: zstd allowed
* v8: record_errors and error_message in the response
* v9: flexible
* v10: current_leader / node_endpoints tagged fields (never needed: this broker leads all)
* v11: no broker change (KIP-890 part 2 client flag)
* v12: no broker change
* v13: topics identified by topic id

acks=0 gets no response; if any partition fails, the connection is closed instead, which is
how Kafka tells an acks=0 producer that something went wrong. acks=-1 (all) equals acks=1 on
a single node. When the topic's flush policy asks for it (flush.messages, `--fsync always`),
the response waits for the fsync that covers the records (group commit, see
broker/durability.py). Idempotent producers are deduplicated per partition (see
broker/producer_state.py); transactions are not supported yet. With an authorizer, each topic
needs WRITE (else TOPIC_AUTHORIZATION_FAILED for its partitions, nothing written).

librdkafka sends one request per partition batch, so that shape (v9+, one partition of a known
topic the principal may write to) skips the general request and response structures: same
append, same checks, same bytes on the wire (tests/unit/test_codec_produce.py,
tests/integration/test_wire.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine

from ..broker.core import BrokerCore, now_ms
from ..broker.topics import Partition
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.produce import (
    ProducePartitionResponse,
    SingleProduce,
    decode_produce_request,
    decode_single_produce,
    encode_produce_response,
    encode_single_produce_response,
)
from ..security.acl import Op, Res
from .context import RequestContext
from .dispatch import CloseConnection
from .registry import handler


@handler(ApiKey.PRODUCE, versions=(3, 13), advertise_from=0, raw=True)
def handle_produce(ctx: RequestContext, body: memoryview) -> bytes | Coroutine | None:
    single = decode_single_produce(body, ctx.version)
    if single is not None:
        broker = ctx.broker
        topic = (broker.topics_by_id.get(single.topic) if isinstance(single.topic, uuid.UUID)
                 else broker.topics.get(single.topic))
        # Anything that is not a plain append (a missing topic or partition, bad acks, no
        # WRITE permission) is answered by the general path, with its errors.
        if (topic is not None and 0 <= single.index < len(topic.partitions)
                and single.acks in (-1, 0, 1) and ctx.authorize(Op.WRITE, Res.TOPIC, topic.name)):
            return _produce_single(ctx, single, topic.partitions[single.index])
    return _produce(ctx, body)


def _produce_single(ctx: RequestContext, single: SingleProduce,
                    partition: Partition) -> bytes | Coroutine | None:
    """librdkafka's usual request (one partition of a known topic it may write to), answered
    without the general path's request and response structures: about a quarter of the
    broker's Python time per produce request (benchmarks/README.md)."""
    now = now_ms()
    r, durable = _append(ctx.broker, partition, single.index, single.records, now,
                         ctx.version, single.acks)
    if single.acks == 0:
        if r.error_code:
            raise CloseConnection("acks=0 produce failed")
        return None
    if r.error_code == 0 and durable is None:
        return encode_single_produce_response(ctx.version, single.topic, single.index,
                                              r.base_offset, r.log_append_time_ms,
                                              r.log_start_offset)
    by_id = isinstance(single.topic, uuid.UUID)
    results = [("" if by_id else single.topic, single.topic if by_id else None, [r])]
    if durable is not None:
        return _after_fsync(ctx.version, results, [(durable, r)])
    return encode_produce_response(ctx.version, results)


def _produce(ctx: RequestContext, body: memoryview) -> bytes | Coroutine | None:
    try:
        request = decode_produce_request(body, ctx.version)
    except ValueError as exc:
        raise CloseConnection(f"bad produce request: {exc}") from None
    broker = ctx.broker
    now = now_ms()
    bad_acks = request.acks not in (-1, 0, 1)
    failed = False
    results = []
    waits = []  # (fsync future, partition response) when the flush policy wants durability
    for t in request.topics:
        topic = broker.topics_by_id.get(t.topic_id) if t.topic_id else broker.topics.get(t.name)
        name = topic.name if topic is not None else t.name
        denied = bool(name) and not ctx.authorize(Op.WRITE, Res.TOPIC, name)
        responses = []
        for p in t.partitions:
            if bad_acks:
                r = ProducePartitionResponse(p.index, ErrorCode.invalid_required_acks)
            elif denied:  # before existence, so that names of hidden topics do not leak
                r = ProducePartitionResponse(p.index, ErrorCode.topic_authorization_failed)
            elif topic is None:
                r = ProducePartitionResponse(p.index, ErrorCode.unknown_topic_id if t.topic_id
                                             else ErrorCode.unknown_topic_or_partition)
            elif not 0 <= p.index < len(topic.partitions):
                r = ProducePartitionResponse(p.index, ErrorCode.unknown_topic_or_partition)
            else:
                r, durable = _append(broker, topic.partitions[p.index], p.index, p.records, now,
                                     ctx.version, request.acks)
                if durable is not None:
                    waits.append((durable, r))
            failed = failed or r.error_code != 0
            responses.append(r)
        results.append((t.name, t.topic_id, responses))
    if request.acks == 0:
        if failed:
            raise CloseConnection("acks=0 produce failed")
        return None
    if waits:
        return _after_fsync(ctx.version, results, waits)
    return encode_produce_response(ctx.version, results)


def _append(broker: BrokerCore, partition: Partition, index: int, records: memoryview | None,
            now: int, version: int,
            acks: int) -> tuple[ProducePartitionResponse, asyncio.Future | None]:
    """Append one partition's records: its response, and the fsync to wait for before
    answering if the flush policy wants the records on disk first (else None)."""
    r = ProducePartitionResponse(index)
    try:
        plog = partition.log
        end = plog.log_end_offset
        appended = broker.append_records(partition, records, now, version)
        r.base_offset = appended.base_offset
        r.log_append_time_ms = appended.log_append_time_ms
        r.log_start_offset = plog.log_start_offset
        if acks != 0:
            return r, broker.flusher.after_append(plog, now, wrote=plog.log_end_offset != end)
    except KafkaError as exc:
        r.error_code = exc.code
        r.error_message = exc.message
    return r, None


async def _after_fsync(version: int, results: list, waits: list) -> bytes:
    """Acknowledge once the records are on disk (flush.messages / --fsync always)."""
    for durable, r in waits:
        try:
            await durable
        except OSError:
            r.error_code = ErrorCode.kafka_storage_error
            r.error_message = "fsync failed"
    return encode_produce_response(version, results)
