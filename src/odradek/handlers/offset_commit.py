"""OffsetCommit: v2-10

* v2-4: retention_time (ignored: offsets.retention.minutes applies, as in Kafka 2.1+)
* v3: throttle_time
* v6: committed_leader_epoch (stored and returned by OffsetFetch)
* v7: group_instance_id (fencing of static members)
* v8: flexible
* v9: KIP-848 members commit with their member epoch (STALE_MEMBER_EPOCH)
* v10: topics by id

Group members are checked (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS);
generation -1 with no member id is a consumer that assigns partitions itself ("simple" group),
allowed while the group has no members. Offsets are written through to the metadata store.

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED for every partition) and
READ on each topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..groups.classic import GroupError
from ..groups.consumer_group import ConsumerGroupError
from ..meta.store import CommittedOffset
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.OFFSET_COMMIT, versions=(2, 10))
def handle_offset_commit(ctx: RequestContext, request):
    broker = ctx.broker
    coordinator = broker.groups
    group_error = ErrorCode.none
    if not request.group_id:
        group_error = ErrorCode.invalid_group_id
    elif not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
        group_error = ErrorCode.group_authorization_failed
    else:
        try:
            coordinator.validate_commit(request.group_id, request.member_id,
                                        request.generation_id_or_member_epoch,
                                        getattr(request, "group_instance_id", None))
        except (GroupError, ConsumerGroupError) as exc:
            group_error = exc.code
    max_metadata = coordinator.config.offset_metadata_max_bytes
    accepted: dict[tuple[str, int], CommittedOffset] = {}
    topics = []
    for t in request.topics:
        topic_id = getattr(t, "topic_id", None)
        topic = broker.topics_by_id.get(topic_id) if topic_id else broker.topics.get(t.name)
        name = topic.name if topic is not None else getattr(t, "name", None)
        denied = bool(name) and not ctx.authorize(Op.READ, Res.TOPIC, name)
        partitions = []
        for p in t.partitions:
            code = group_error
            if code == ErrorCode.none:
                metadata = p.committed_metadata
                if denied:
                    code = ErrorCode.topic_authorization_failed
                elif topic is None:
                    code = (ErrorCode.unknown_topic_id if topic_id
                            else ErrorCode.unknown_topic_or_partition)
                elif not 0 <= p.partition_index < len(topic.partitions):
                    code = ErrorCode.unknown_topic_or_partition
                elif metadata is not None and len(metadata.encode()) > max_metadata:
                    code = ErrorCode.offset_metadata_too_large
                else:
                    accepted[(topic.name, p.partition_index)] = CommittedOffset(
                        p.committed_offset, getattr(p, "committed_leader_epoch", -1),
                        metadata)
            partitions.append({"partition_index": p.partition_index, "error_code": code})
        topics.append({"name": getattr(t, "name", None), "topic_id": topic_id,
                       "partitions": partitions})
    if accepted:
        coordinator.commit(request.group_id, accepted)
    return ctx.response(topics=topics)
