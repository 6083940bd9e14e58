"""One module per Kafka API. Importing this package registers every handler."""

from . import (  # noqa: F401
    alter_configs,
    api_versions,
    consumer_group_describe,
    consumer_group_heartbeat,
    create_partitions,
    create_topics,
    delete_groups,
    delete_records,
    delete_topics,
    describe_cluster,
    describe_configs,
    describe_groups,
    fetch,
    find_coordinator,
    heartbeat,
    incremental_alter_configs,
    init_producer_id,
    join_group,
    leave_group,
    list_groups,
    list_offsets,
    metadata,
    offset_commit,
    offset_delete,
    offset_fetch,
    offset_for_leader_epoch,
    produce,
    sync_group,
)
from .dispatch import CloseConnection, dispatch, frame_response
from .registry import HANDLERS

__all__ = ["CloseConnection", "HANDLERS", "dispatch", "frame_response"]
