"""The web console: a JSON API over the broker's state and the static page that polls it.

Served by the broker's own event loop (`httpd.HttpServer`), so every handler reads `BrokerCore`
directly. A sampler takes a snapshot every second (per topic: log end offsets and sizes; per
group: total lag) and keeps the last few minutes, from which the page draws its live charts.

    GET    /                          the page (static/index.html)
    GET    /api/overview              cluster id, listeners, counts
    GET    /api/topics                topics with partitions: offsets, sizes, segments
    POST   /api/topics                {"name", "partitions", "configs"}: create a topic
    DELETE /api/topics/NAME           delete a topic
    GET    /api/groups                groups with members, committed offsets and lag
    GET    /api/records?topic=&partition=&offset=|timestamp=&limit=
                                      records (key/value base64; the page renders them)
    GET    /api/series                the sampled time series (throughput, lag)
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import deque
from importlib import resources

from .. import __version__
from ..protocol.consumer_protocol import assignment_partitions
from ..protocol.errors import KafkaError
from ..protocol.records import iter_records
from .httpd import HttpServer, Request, Response

SAMPLE_INTERVAL = 1.0
SAMPLES = 300  # five minutes at one a second
MAX_RECORDS = 500


class Console:
    def __init__(self, core, server, *, sample_interval: float = SAMPLE_INTERVAL) -> None:
        self.core = core
        self.server = server
        self.sample_interval = sample_interval
        self.samples: deque[dict] = deque(maxlen=SAMPLES)
        self.started = time.time()
        self._sampler: asyncio.Task | None = None

    def install(self, http: HttpServer) -> None:
        http.route("GET", "/", self.page)
        http.route("GET", "/static/", self.static)
        http.route("GET", "/api/overview", self.overview)
        http.route("GET", "/api/topics", self.topics)
        http.route("POST", "/api/topics", self.create_topic)
        http.route("DELETE", "/api/topics/", self.delete_topic)
        http.route("GET", "/api/groups", self.groups)
        http.route("GET", "/api/records", self.records)
        http.route("GET", "/api/series", self.series)

    def start(self) -> None:
        self.sample()
        self._sampler = asyncio.get_running_loop().create_task(self._run_sampler())

    def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()

    # ------------------------------------------------------------------ static

    def page(self, request: Request) -> Response:
        return self._file("index.html")

    def static(self, request: Request) -> Response:
        name = request.path.removeprefix("/static/")
        if "/" in name or name.startswith("."):
            return Response.error(404, "not found")
        return self._file(name)

    def _file(self, name: str) -> Response:
        try:
            data = resources.files(__package__).joinpath("static", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return Response.error(404, "not found")
        kind = {"html": "text/html", "js": "text/javascript", "css": "text/css",
                "svg": "image/svg+xml"}.get(name.rpartition(".")[2], "application/octet-stream")
        return Response(200, data, kind + "; charset=utf-8")

    # ------------------------------------------------------------------ API

    def overview(self, request: Request) -> Response:
        core = self.core
        return Response.json({
            "version": __version__, "cluster_id": core.cluster_id, "node_id": core.node_id,
            "bootstrap": f"{core.advertised_host}:{core.advertised_port}",
            "data_dir": str(core.data_dir.resolve()),
            "topics": len(core.topics),
            "partitions": sum(len(t.partitions) for t in core.topics.values()),
            "groups": len(core.groups.list_groups()),
            "connections": len(self.server.connections) if self.server else 0,
            "uptime_s": round(time.time() - self.started, 1)})

    def topics(self, request: Request) -> Response:
        out = []
        for t in sorted(self.core.topics.values(), key=lambda t: t.name):
            parts = [{"partition": p.index, "log_start_offset": p.log.log_start_offset,
                      "log_end_offset": p.log.log_end_offset,
                      "high_watermark": p.log.high_watermark, "size_bytes": p.log.size_bytes,
                      "segments": len(p.log.segments)} for p in t.partitions]
            out.append({"name": t.name, "topic_id": str(t.topic_id), "internal": t.is_internal,
                        "configs": dict(t.configs), "partitions": parts,
                        "records": sum(p["log_end_offset"] - p["log_start_offset"]
                                       for p in parts),
                        "size_bytes": sum(p["size_bytes"] for p in parts)})
        return Response.json(out)

    def create_topic(self, request: Request) -> Response:
        try:
            body = request.json() or {}
            name = str(body.get("name", "")).strip()
            partitions = int(body.get("partitions") or -1)
            configs = {str(k): str(v) for k, v in (body.get("configs") or {}).items()}
        except (ValueError, TypeError, AttributeError):
            return Response.error(400, "expected {name, partitions, configs}")
        try:
            topic = self.core.create_topic(name, partitions, -1, configs)
        except KafkaError as exc:
            return Response.error(409 if exc.code == 36 else 400,
                                  exc.message or exc.code.name)
        return Response.json({"name": topic.name, "partitions": len(topic.partitions)}, 201)

    def delete_topic(self, request: Request) -> Response:
        name = request.path.removeprefix("/api/topics/")
        try:
            self.core.delete_topic(name)
        except KafkaError as exc:
            return Response.error(404 if exc.code == 3 else 400, exc.message or exc.code.name)
        return Response.json({"deleted": name})

    def _group_rows(self) -> list[dict]:
        core = self.core
        out = []
        for group in sorted(core.groups.list_groups(), key=lambda g: g.group_id):
            members = []
            owner = {}
            for m in group.members.values():
                if hasattr(m, "assigned"):  # KIP-848 consumer group member
                    assignment = {t: sorted(ps) for t, ps in m.assigned.items()}
                    instance = m.instance_id
                else:  # classic: the "consumer" protocol's assignment bytes
                    assignment = (assignment_partitions(m.assignment) or {}
                                  if group.protocol_type == "consumer" else {})
                    instance = m.group_instance_id
                members.append({"member_id": m.member_id, "client_id": m.client_id,
                                "client_host": m.client_host, "instance_id": instance,
                                "assignment": assignment})
                for t, ps in assignment.items():
                    for p in ps:
                        owner[(t, p)] = m.client_id or m.member_id
            committed = core.groups.committed(group.group_id)
            partitions = []
            for (topic, index) in sorted(set(committed) | set(owner)):
                t = core.topics.get(topic)
                if t is None or index >= len(t.partitions):
                    continue
                end = t.partitions[index].log.high_watermark
                o = committed.get((topic, index))
                partitions.append({"topic": topic, "partition": index,
                                   "committed_offset": o.offset if o else None,
                                   "log_end_offset": end,
                                   "lag": max(end - o.offset, 0) if o else None,
                                   "owner": owner.get((topic, index))})
            out.append({"group_id": group.group_id, "type": group.group_type,
                        "state": group.state.value, "protocol_type": group.protocol_type,
                        "members": members, "partitions": partitions,
                        "lag": sum(p["lag"] or 0 for p in partitions)})
        return out

    def groups(self, request: Request) -> Response:
        return Response.json(self._group_rows())

    def records(self, request: Request) -> Response:
        q = request.query
        try:
            partition = self.core.partition(q.get("topic", ""), int(q.get("partition", 0)))
            limit = min(int(q.get("limit", 50)), MAX_RECORDS)
            plog = partition.log
            if q.get("timestamp"):
                found = plog.offset_for_timestamp(int(q["timestamp"]))
                start = found[0] if found else plog.high_watermark
            else:
                start = int(q.get("offset") or plog.log_start_offset)
                if start < 0:  # -N: N records before the end
                    start = max(plog.high_watermark + start, plog.log_start_offset)
        except KafkaError as exc:
            return Response.error(404, exc.message or exc.code.name)
        except ValueError:
            return Response.error(400, "partition, offset, timestamp and limit are integers")
        start = max(start, plog.log_start_offset)
        out = []
        for batch in plog.iter_batches(start):
            for r in iter_records(batch):
                if r.offset < start or r.offset >= plog.high_watermark:
                    continue
                out.append({"offset": r.offset, "timestamp": r.timestamp,
                            "key": _b64(r.key), "value": _b64(r.value),
                            "headers": [[k, _b64(v)] for k, v in r.headers]})
                if len(out) >= limit:
                    break
            if len(out) >= limit:
                break
        return Response.json({"topic": partition.topic.name, "partition": partition.index,
                              "start": start, "log_start_offset": plog.log_start_offset,
                              "high_watermark": plog.high_watermark, "records": out})

    def series(self, request: Request) -> Response:
        samples = list(self.samples)
        times = [s["t"] for s in samples[1:]]
        topics: dict[str, dict[str, list]] = {}
        names = sorted({n for s in samples for n in s["topics"]})
        for name in names:
            rps, bps = [], []
            for prev, cur in zip(samples, samples[1:], strict=False):
                a, b = prev["topics"].get(name), cur["topics"].get(name)
                dt = max(cur["t"] - prev["t"], 1e-6)
                if a is None or b is None:
                    rps.append(None)
                    bps.append(None)
                else:
                    rps.append(round(max(b[0] - a[0], 0) / dt, 2))
                    bps.append(round(max(b[1] - a[1], 0) / dt, 2))
            topics[name] = {"records_per_s": rps, "bytes_per_s": bps}
        groups = {}
        for gid in sorted({g for s in samples for g in s["groups"]}):
            groups[gid] = {"lag": [s["groups"].get(gid) for s in samples[1:]]}
        return Response.json({"interval_s": self.sample_interval, "t": times,
                              "topics": topics, "groups": groups})

    # ------------------------------------------------------------------ sampling

    def sample(self) -> None:
        core = self.core
        topics = {}
        for t in core.topics.values():
            topics[t.name] = (sum(p.log.log_end_offset for p in t.partitions),
                              sum(p.log.size_bytes for p in t.partitions))
        groups = {}
        for group_id, offsets in core.groups.offsets.items():
            lag = 0
            for (topic, index), o in offsets.items():
                t = core.topics.get(topic)
                if t is not None and index < len(t.partitions):
                    lag += max(t.partitions[index].log.high_watermark - o.offset, 0)
            groups[group_id] = lag
        self.samples.append({"t": round(time.time(), 3), "topics": topics, "groups": groups})

    async def _run_sampler(self) -> None:
        while True:
            await asyncio.sleep(self.sample_interval)
            try:
                self.sample()
            except Exception:  # never let a sampling bug stop the charts for good
                import logging

                logging.getLogger("odradek.console").exception("sampling failed")


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()
