"""Fetch: v4-18

* v4: isolation_level, last_stable_offset and aborted transactions in the response
* v5: log_start_offset
* v7: fetch sessions (KIP-227): not kept; every response has session_id 0, which tells the
  client to send full fetch requests (Kafka does the same when its session cache is full)
* v9: current_leader_epoch checked (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH)
* v11: rack_id, preferred_read_replica (always -1: read from the leader)
* v12: flexible; diverging epoch / current leader tagged fields (not needed on one node)
* v13: topic ids instead of names
* v15: replica_state replaces replica_id
* v16-18: node endpoints, replica directory id, high watermark from followers: no change here

Long poll: when less than min_bytes is available the request parks on the partitions' waiter
lists and is answered as soon as an append arrives with enough data (or at max_wait_ms), not
when the timer expires. Records go out as file slices, sent with sendfile by the server.

With an authorizer each topic needs READ: partitions of other topics get
TOPIC_AUTHORIZATION_FAILED and no records.
"""

from __future__ import annotations

import asyncio

from ..broker.topics import Partition
from ..log.errors import OffsetOutOfRangeError
from ..protocol.api_keys import ApiKey
from ..protocol.build import millis
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.fetch import FetchPartitionResponse, encode_fetch_response
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

_READ_COMMITTED = 1
DENIED = object()  # stands for a partition of a topic the principal may not READ


@handler(ApiKey.FETCH, versions=(4, 18))
def handle_fetch(ctx: RequestContext, request):
    version = ctx.version
    if getattr(request, "session_id", 0) != 0 and request.session_epoch > 0:
        return encode_fetch_response(version, [], error_code=ErrorCode.fetch_session_id_not_found)
    wanted = _resolve(ctx, request)
    responses, available, errored = _read(wanted, request)
    max_wait = millis(request.max_wait)
    if available >= request.min_bytes or max_wait <= 0 or errored or not wanted:
        return _encode(version, wanted, responses, ctx.broker.stats)
    return _long_poll(ctx, request, wanted, max_wait)


async def _long_poll(ctx: RequestContext, request, wanted, max_wait: int):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait / 1000
    while True:
        remaining = deadline - loop.time()
        if remaining > 0:
            woken = loop.create_future()
            for _, _, partition, _ in wanted:
                if isinstance(partition, Partition):
                    partition.waiters.append(woken)
            try:
                await asyncio.wait_for(woken, remaining)
            except TimeoutError:
                pass
        responses, available, errored = _read(wanted, request)
        if available >= request.min_bytes or errored or loop.time() >= deadline:
            return _encode(ctx.version, wanted, responses, ctx.broker.stats)


def _resolve(ctx: RequestContext, request) -> list:
    """(topic key for the response, partition index, Partition or None or DENIED, request
    partition)."""
    broker = ctx.broker
    wanted = []
    for t in request.topics:
        topic_id = getattr(t, "topic_id", None)
        topic = broker.topics_by_id.get(topic_id) if topic_id else broker.topics.get(t.topic)
        key = (None if topic_id else t.topic, topic_id)
        name = topic.name if topic is not None else t.topic
        denied = bool(name) and not ctx.authorize(Op.READ, Res.TOPIC, name)
        for p in t.partitions:
            partition = None
            if denied:
                partition = DENIED
            elif topic is not None and 0 <= p.partition < len(topic.partitions):
                partition = topic.partitions[p.partition]
            wanted.append((key, p.partition, partition, p))
    return wanted


def _read(wanted: list, request) -> tuple[list[FetchPartitionResponse], int, bool]:
    remaining = request.max_bytes
    read_committed = request.isolation_level == _READ_COMMITTED
    min_one = True  # KIP-74: the first partition with data returns at least one batch
    available = 0
    errored = False
    out = []
    for key, index, partition, req in wanted:
        if partition is DENIED:  # no READ on the topic: an error, never data
            out.append(FetchPartitionResponse(index, ErrorCode.topic_authorization_failed,
                                              records=b""))  # empty, as Kafka (not null)
            errored = True
            continue
        if partition is None or partition.deleted:
            code = (ErrorCode.unknown_topic_id if key[1] is not None
                    else ErrorCode.unknown_topic_or_partition)
            out.append(FetchPartitionResponse(index, code, records=b""))
            errored = True
            continue
        r = _read_partition(partition, req, remaining, min_one, read_committed)
        if r.error_code:
            errored = True
        elif r.records:
            size = len(r.records)
            available += size
            remaining = max(remaining - size, 0)
            min_one = False
        out.append(r)
    return out, available, errored


def _read_partition(partition: Partition, req, remaining: int, min_one: bool,
                    read_committed: bool) -> FetchPartitionResponse:
    plog = partition.log
    hw = plog.high_watermark
    r = FetchPartitionResponse(
        partition.index, high_watermark=hw, last_stable_offset=hw,
        log_start_offset=plog.log_start_offset,
        aborted_transactions=[] if read_committed else None, records=b"")
    try:
        partition.check_leader_epoch(getattr(req, "current_leader_epoch", -1))
    except KafkaError as exc:
        r.error_code = exc.code
        return r
    try:
        data = plog.read(req.fetch_offset, min(req.partition_max_bytes, remaining),
                         min_one_batch=min_one)
    except OffsetOutOfRangeError:
        # As Kafka: the error partition carries no offsets and empty records
        # (MemoryRecords.EMPTY; librdkafka rejects a null MessageSet).
        return FetchPartitionResponse(partition.index, ErrorCode.offset_out_of_range,
                                      records=b"")
    if data is not None and len(data):
        r.records = data
    return r


def _encode(version: int, wanted: list, responses: list[FetchPartitionResponse],
            stats=None) -> list:
    if stats is not None:  # metrics: bytes out per topic, once per partition response
        for (_, _, partition, _), response in zip(wanted, responses, strict=True):
            if response.records and partition is not None:
                stats.fetched(partition.topic.name, len(response.records))
    topics: list = []
    last_key = None
    for (key, _, _, _), response in zip(wanted, responses, strict=True):
        if key != last_key:
            topics.append((key[0], key[1], []))
            last_key = key
        topics[-1][2].append(response)
    return encode_fetch_response(version, topics)
