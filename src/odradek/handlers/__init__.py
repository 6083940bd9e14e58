"""One module per Kafka API. Importing this package registers every handler."""

from . import (  # noqa: F401
    alter_configs,
    api_versions,
    create_partitions,
    create_topics,
    delete_records,
    delete_topics,
    describe_cluster,
    describe_configs,
    fetch,
    incremental_alter_configs,
    init_producer_id,
    list_offsets,
    metadata,
    offset_for_leader_epoch,
    produce,
)
from .dispatch import CloseConnection, dispatch, frame_response
from .registry import HANDLERS

__all__ = ["CloseConnection", "HANDLERS", "dispatch", "frame_response"]
