"""The metadata store interface: what the broker persists besides partition data.

SQLite (`SqliteMetadataStore`) serves the single node; a PostgreSQL store will implement the
same interface for a cluster, so the broker core never talks SQL itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..security.acl import AclBinding
    from ..security.scram import ScramCredential


@dataclass
class TopicRecord:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)  # explicit overrides only


@dataclass
class CommittedOffset:
    offset: int
    leader_epoch: int = -1
    metadata: str | None = ""
    commit_timestamp: int = -1


class MetadataStore(Protocol):
    def cluster_id(self) -> str:
        """The cluster id, created on first use."""

    def list_topics(self) -> list[TopicRecord]: ...

    def create_topic(self, topic: TopicRecord) -> None: ...

    def delete_topic(self, name: str) -> None: ...

    def set_topic_partitions(self, name: str, partitions: int) -> None: ...

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None: ...

    def log_start_offsets(self) -> dict[tuple[str, int], int]: ...

    def set_log_start_offset(self, topic: str, partition: int, offset: int) -> None: ...

    def broker_configs(self) -> dict[str, str]:
        """Dynamic broker configs (set with AlterConfigs on the broker resource)."""

    def set_broker_configs(self, configs: dict[str, str]) -> None: ...

    def allocate_producer_ids(self, count: int) -> int:
        """Reserve `count` producer ids; returns the first. Never hands out an id twice."""

    def producer_snapshots(self) -> dict[tuple[str, int], tuple[int, dict]]:
        """(topic, partition) -> (offset the snapshot is valid up to, snapshot)."""

    def save_producer_snapshots(self, snapshots: dict[tuple[str, int], tuple[int, dict]]) -> None:
        ...

    def committed_offsets(self) -> dict[str, dict[tuple[str, int], CommittedOffset]]:
        """Every group's committed offsets."""

    def save_offsets(self, group: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        ...

    def delete_offsets(self, group: str, partitions: list[tuple[str, int]] | None) -> None:
        """Delete some of a group's offsets, or all of them (None)."""

    def group_memberships(self) -> dict[str, dict]:
        """Each group's stored membership, by group: a classic group's last stable generation
        (groups/classic.py `snapshot()`) or a KIP-848 group's members and epochs
        (groups/consumer_group.py `snapshot()`, with "type": "consumer")."""

    def save_group_membership(self, group: str, membership: dict | None) -> None:
        """Keep a group's membership, or forget it (None)."""

    # Security (odradek.security): ACL bindings and SCRAM credentials (salted and hashed:
    # salt, StoredKey, ServerKey, iterations; never a password).

    def acls(self) -> list[AclBinding]: ...

    def add_acls(self, acls: list[AclBinding]) -> None: ...

    def delete_acls(self, acls: list[AclBinding]) -> None: ...

    def scram_credentials(self) -> dict[tuple[str, str], ScramCredential]:
        """(user, mechanism name) -> credential."""

    def set_scram_credential(self, user: str, mechanism: str,
                             credential: ScramCredential) -> None: ...

    def delete_scram_credential(self, user: str, mechanism: str) -> None: ...

    def close(self) -> None: ...
