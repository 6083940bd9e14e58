"""DescribeProducers: v0 (what Kafka 4.4 serves)

The idempotent producers each partition remembers (broker/producer_state.py): producer id,
epoch, last sequence and the timestamp of its last batch. No transactions here, so
coordinator_epoch and current_txn_start_offset are always -1. For
`kafka-transactions.sh describe-producers` and the Java AdminClient's describeProducers.

Per topic, as Kafka checks them: an invalid name (INVALID_TOPIC_EXCEPTION), then READ on the
topic (TOPIC_AUTHORIZATION_FAILED), then existence (UNKNOWN_TOPIC_OR_PARTITION); a partition
index the topic does not have is UNKNOWN_TOPIC_OR_PARTITION too.
"""

from __future__ import annotations

from ..broker.topics import validate_topic_name
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DESCRIBE_PRODUCERS, versions=(0, 0))
def handle_describe_producers(ctx: RequestContext, request):
    topics = []
    for t in request.topics:
        error, message = _topic_error(ctx, t.name)
        topic = ctx.broker.topics.get(t.name)
        partitions = []
        for index in t.partition_indexes:
            if error or not 0 <= index < len(topic.partitions):
                partitions.append({"partition_index": index, "error_code": error
                                   or ErrorCode.unknown_topic_or_partition,
                                   "error_message": message, "active_producers": []})
                continue
            producers = topic.partitions[index].producers.producers
            partitions.append({"partition_index": index, "error_code": ErrorCode.none,
                               "error_message": None, "active_producers": [
                                   {"producer_id": pid, "producer_epoch": entry.epoch,
                                    "last_sequence": entry.last_seq,
                                    "last_timestamp": entry.last_timestamp,
                                    "coordinator_epoch": -1, "current_txn_start_offset": -1}
                                   for pid, entry in sorted(producers.items())]})
        topics.append({"name": t.name, "partitions": partitions})
    return ctx.response(topics=topics)


def _topic_error(ctx: RequestContext, name: str) -> tuple[int, str | None]:
    try:
        validate_topic_name(name)
    except KafkaError as exc:
        return exc.code, exc.message
    # Kafka answers topic-level errors with their default messages.
    if not ctx.authorize(Op.READ, Res.TOPIC, name):
        return ErrorCode.topic_authorization_failed, "Topic authorization failed."
    if name not in ctx.broker.topics:
        return (ErrorCode.unknown_topic_or_partition,
                "This server does not host this topic-partition.")
    return ErrorCode.none, None
