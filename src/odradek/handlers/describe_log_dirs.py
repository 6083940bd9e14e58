"""DescribeLogDirs: v1-5 (v0 removed in Kafka 4, as here)

* v2: flexible
* v3: top-level error_code
* v4: total_bytes, usable_bytes of the log directory's file system
* v5: is_cordoned (never: this broker has no cordoned directories)

One log directory: the data directory. Partition sizes are the bytes of their segments;
offset_lag is 0 (the log end offset is the high watermark on a single node); no future
replicas. Topics null: every partition; partitions the broker does not have are left out, as
Kafka does. Needs DESCRIBE on the cluster: without it, no results (and, v3+,
CLUSTER_AUTHORIZATION_FAILED). Admin UIs use it for topic sizes.
"""

from __future__ import annotations

import shutil

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DESCRIBE_LOG_DIRS, versions=(1, 5))
def handle_describe_log_dirs(ctx: RequestContext, request):
    if not ctx.authorize(Op.DESCRIBE, Res.CLUSTER):
        return ctx.response(error_code=ErrorCode.cluster_authorization_failed, results=[])
    broker = ctx.broker
    if request.topics is None:
        wanted = {name: range(len(t.partitions)) for name, t in broker.topics.items()}
    else:
        wanted: dict[str, set[int]] = {}
        for t in request.topics:
            wanted.setdefault(t.topic, set()).update(t.partitions)
    topics = []
    for name, indexes in wanted.items():
        topic = broker.topics.get(name)
        if topic is None:
            continue
        parts = [{"partition_index": i, "partition_size": topic.partitions[i].log.size_bytes,
                  "offset_lag": 0, "is_future_key": False}
                 for i in sorted(indexes) if 0 <= i < len(topic.partitions)]
        if parts:
            topics.append({"name": name, "partitions": parts})
    try:
        usage = shutil.disk_usage(broker.data_dir)
        total, usable = usage.total, usage.free
    except OSError:
        total = usable = -1  # Kafka's UNKNOWN_VOLUME_BYTES
    return ctx.response(error_code=ErrorCode.none, results=[{
        "error_code": ErrorCode.none, "log_dir": str(broker.data_dir.resolve()),
        "topics": topics, "total_bytes": total, "usable_bytes": usable, "is_cordoned": False}])
