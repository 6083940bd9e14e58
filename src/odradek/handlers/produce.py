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
"""

from __future__ import annotations

from ..broker.core import now_ms
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.produce import (
    ProducePartitionResponse,
    decode_produce_request,
    encode_produce_response,
)
from ..security.acl import Op, Res
from .context import RequestContext
from .dispatch import CloseConnection
from .registry import handler


@handler(ApiKey.PRODUCE, versions=(3, 13), advertise_from=0, raw=True)
def handle_produce(ctx: RequestContext, body: memoryview) -> bytes | None:
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
            r = ProducePartitionResponse(index=p.index)
            if bad_acks:
                r.error_code = ErrorCode.invalid_required_acks
            elif denied:  # before existence, so that names of hidden topics do not leak
                r.error_code = ErrorCode.topic_authorization_failed
            elif topic is None:
                r.error_code = (ErrorCode.unknown_topic_id if t.topic_id
                                else ErrorCode.unknown_topic_or_partition)
            elif not 0 <= p.index < len(topic.partitions):
                r.error_code = ErrorCode.unknown_topic_or_partition
            else:
                partition = topic.partitions[p.index]
                try:
                    end = partition.log.log_end_offset
                    appended = broker.append_records(partition, p.records, now, ctx.version)
                    r.base_offset = appended.base_offset
                    r.log_append_time_ms = appended.log_append_time_ms
                    r.log_start_offset = partition.log.log_start_offset
                    if request.acks != 0:
                        durable = broker.flusher.after_append(
                            partition.log, now, wrote=partition.log.log_end_offset != end)
                        if durable is not None:
                            waits.append((durable, r))
                except KafkaError as exc:
                    r.error_code = exc.code
                    r.error_message = exc.message
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


async def _after_fsync(version: int, results: list, waits: list) -> bytes:
    """Acknowledge once the records are on disk (flush.messages / --fsync always)."""
    for durable, r in waits:
        try:
            await durable
        except OSError:
            r.error_code = ErrorCode.kafka_storage_error
            r.error_message = "fsync failed"
    return encode_produce_response(version, results)
