"""SQLite metadata store: one file, `<data-dir>/metadata.db`, in WAL mode.

Writes are rare (topic admin, log start offsets after DeleteRecords or retention) and small,
so they run synchronously on the broker's loop; each is one transaction.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from pathlib import Path

from .store import CommittedOffset, TopicRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    topic_id TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL,
    configs TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS log_start_offsets (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    log_start_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS broker_configs (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS committed_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    metadata TEXT,
    commit_timestamp INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
CREATE TABLE IF NOT EXISTS producer_snapshots (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    snapshot_offset INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS group_memberships (
    group_id TEXT PRIMARY KEY,
    membership TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS acls (
    resource_type INTEGER NOT NULL,
    resource_name TEXT NOT NULL,
    pattern_type INTEGER NOT NULL,
    principal TEXT NOT NULL,
    host TEXT NOT NULL,
    operation INTEGER NOT NULL,
    permission_type INTEGER NOT NULL,
    PRIMARY KEY (resource_type, resource_name, pattern_type, principal, host, operation,
                 permission_type)
);
CREATE TABLE IF NOT EXISTS scram_credentials (
    user_name TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    salt BLOB NOT NULL,
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    PRIMARY KEY (user_name, mechanism)
);
"""


class SqliteMetadataStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash; only an OS crash may lose the tail.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def _tx(self, sql: str, *params) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(sql, params)

    def cluster_id(self) -> str:
        row = self.db.execute("SELECT value FROM cluster WHERE key='cluster_id'").fetchone()
        if row:
            return row[0]
        # Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding.
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._tx("INSERT INTO cluster VALUES ('cluster_id', ?)", cid)
        return cid

    def list_topics(self) -> list[TopicRecord]:
        rows = self.db.execute("SELECT name, topic_id, partitions, configs FROM topics")
        return [TopicRecord(n, uuid.UUID(t), p, json.loads(c)) for n, t, p, c in rows]

    def create_topic(self, topic: TopicRecord) -> None:
        self._tx(
            "INSERT INTO topics VALUES (?, ?, ?, ?)",
            topic.name, str(topic.topic_id), topic.partitions, json.dumps(topic.configs),
        )

    def delete_topic(self, name: str) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM topics WHERE name=?", (name,))
            self.db.execute("DELETE FROM log_start_offsets WHERE topic=?", (name,))
            self.db.execute("DELETE FROM producer_snapshots WHERE topic=?", (name,))

    def set_topic_partitions(self, name: str, partitions: int) -> None:
        self._tx("UPDATE topics SET partitions=? WHERE name=?", partitions, name)

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        self._tx("UPDATE topics SET configs=? WHERE name=?", json.dumps(configs), name)

    def log_start_offsets(self) -> dict[tuple[str, int], int]:
        rows = self.db.execute("SELECT topic, partition, log_start_offset FROM log_start_offsets")
        return {(t, p): o for t, p, o in rows}

    def set_log_start_offset(self, topic: str, partition: int, offset: int) -> None:
        self._tx(
            "INSERT INTO log_start_offsets VALUES (?, ?, ?) ON CONFLICT (topic, partition) "
            "DO UPDATE SET log_start_offset=excluded.log_start_offset",
            topic, partition, offset,
        )

    def broker_configs(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT name, value FROM broker_configs"))

    def set_broker_configs(self, configs: dict[str, str]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM broker_configs")
            self.db.executemany("INSERT INTO broker_configs VALUES (?, ?)", configs.items())

    def allocate_producer_ids(self, count: int) -> int:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute(
                "SELECT value FROM cluster WHERE key='next_producer_id'").fetchone()
            first = int(row[0]) if row else 0
            self.db.execute(
                "INSERT INTO cluster VALUES ('next_producer_id', ?) ON CONFLICT (key) "
                "DO UPDATE SET value=excluded.value", (str(first + count),))
        return first

    def producer_snapshots(self) -> dict[tuple[str, int], tuple[int, dict]]:
        rows = self.db.execute(
            "SELECT topic, partition, snapshot_offset, snapshot FROM producer_snapshots")
        return {(t, p): (o, json.loads(s)) for t, p, o, s in rows}

    def save_producer_snapshots(self, snapshots: dict[tuple[str, int], tuple[int, dict]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO producer_snapshots VALUES (?, ?, ?, ?) ON CONFLICT (topic, "
                "partition) DO UPDATE SET snapshot_offset=excluded.snapshot_offset, "
                "snapshot=excluded.snapshot",
                [(t, p, o, json.dumps(s)) for (t, p), (o, s) in snapshots.items()])

    def group_memberships(self) -> dict[str, dict]:
        rows = self.db.execute("SELECT group_id, membership FROM group_memberships")
        return {g: json.loads(m) for g, m in rows}

    def save_group_membership(self, group: str, membership: dict | None) -> None:
        with self.db:
            if membership is None:
                self.db.execute("DELETE FROM group_memberships WHERE group_id = ?", (group,))
            else:
                self.db.execute(
                    "INSERT INTO group_memberships VALUES (?, ?) ON CONFLICT (group_id) "
                    "DO UPDATE SET membership=excluded.membership",
                    (group, json.dumps(membership)))

    def committed_offsets(self) -> dict[str, dict[tuple[str, int], CommittedOffset]]:
        out: dict[str, dict[tuple[str, int], CommittedOffset]] = {}
        for g, t, p, o, e, m, ts in self.db.execute("SELECT * FROM committed_offsets"):
            out.setdefault(g, {})[(t, p)] = CommittedOffset(o, e, m, ts)
        return out

    def save_offsets(self, group: str, offsets: dict[tuple[str, int], CommittedOffset]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO committed_offsets VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(group_id, topic, partition) DO UPDATE SET "
                "committed_offset=excluded.committed_offset, leader_epoch=excluded.leader_epoch, "
                "metadata=excluded.metadata, commit_timestamp=excluded.commit_timestamp",
                [(group, t, p, o.offset, o.leader_epoch, o.metadata, o.commit_timestamp)
                 for (t, p), o in offsets.items()])

    def delete_offsets(self, group: str, partitions: list[tuple[str, int]] | None) -> None:
        with self.db:
            self.db.execute("BEGIN")
            if partitions is None:
                self.db.execute("DELETE FROM committed_offsets WHERE group_id=?", (group,))
            else:
                self.db.executemany(
                    "DELETE FROM committed_offsets WHERE group_id=? AND topic=? AND partition=?",
                    [(group, t, p) for t, p in partitions])

    def acls(self) -> list:
        from ..security.acl import (
            AclBinding,
            AclOperation,
            AclPermissionType,
            PatternType,
            ResourceType,
        )

        rows = self.db.execute("SELECT * FROM acls")
        return [AclBinding(ResourceType(rt), name, PatternType(pt), principal, host,
                           AclOperation(op), AclPermissionType(perm))
                for rt, name, pt, principal, host, op, perm in rows]

    def add_acls(self, acls: list) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR IGNORE INTO acls VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [_acl_row(a) for a in acls])

    def delete_acls(self, acls: list) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "DELETE FROM acls WHERE resource_type=? AND resource_name=? AND pattern_type=? "
                "AND principal=? AND host=? AND operation=? AND permission_type=?",
                [_acl_row(a) for a in acls])

    def scram_credentials(self) -> dict:
        from ..security.scram import ScramCredential

        rows = self.db.execute("SELECT * FROM scram_credentials")
        return {(u, m): ScramCredential(bytes(salt), bytes(stored), bytes(server), i)
                for u, m, salt, stored, server, i in rows}

    def set_scram_credential(self, user: str, mechanism: str, credential) -> None:
        self._tx(
            "INSERT INTO scram_credentials VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_name, "
            "mechanism) DO UPDATE SET salt=excluded.salt, stored_key=excluded.stored_key, "
            "server_key=excluded.server_key, iterations=excluded.iterations",
            user, mechanism, credential.salt, credential.stored_key, credential.server_key,
            credential.iterations)

    def delete_scram_credential(self, user: str, mechanism: str) -> None:
        self._tx("DELETE FROM scram_credentials WHERE user_name=? AND mechanism=?",
                 user, mechanism)

    def close(self) -> None:
        self.db.close()


def _acl_row(a) -> tuple:
    return (int(a.resource_type), a.resource_name, int(a.pattern_type), a.principal, a.host,
            int(a.operation), int(a.permission_type))
