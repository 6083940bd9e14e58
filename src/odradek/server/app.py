"""Start and stop a whole broker (state + listener) on an event loop; used by the CLI and the
embedded `Broker`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..broker.core import BrokerCore
from ..broker.settings import BrokerSettings
from .listener import KafkaServer

log = logging.getLogger("odradek")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (about 30% more requests per second), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def serve(settings: BrokerSettings, stop: asyncio.Event,
                on_ready: Callable[[KafkaServer], None] | None = None) -> None:
    started = time.monotonic()
    # Handlers register themselves on import; import here so that the CLI's --version and
    # --help stay fast.
    from .. import handlers  # noqa: F401

    _raise_open_files_limit()

    listeners = None
    props = settings.properties
    if props.get("listeners") or props.get("advertised.listeners"):  # else PLAINTEXT on host:port
        from ..security.listeners import build_listeners

        listeners = build_listeners(settings.properties, settings.host, settings.port,
                                    settings.advertised_host, settings.advertised_port)
    core = BrokerCore(settings)
    server = KafkaServer(core)
    http_servers = []
    try:
        if settings.metrics_port is not None:
            _enable_metrics(core)  # before the listener: connections pick up core.stats
        port = await server.start(settings.host, settings.port, listeners)
        for lst in listeners or ():
            log.info("listener %s (%s) on %s:%d, advertised %s:%d%s", lst.name,
                     lst.security_protocol, lst.host, lst.bound_port, *lst.endpoint,
                     f", SASL {'/'.join(lst.sasl_mechanisms)}" if lst.sasl else "")
        if core.authorizer is not None:
            log.info("ACL authorizer on: %d ACL(s), super users %s, "
                     "allow.everyone.if.no.acl.found=%s", len(core.authorizer.acls()),
                     ", ".join(sorted(core.authorizer.super_users)) or "none",
                     str(core.authorizer.allow_everyone_if_no_acl).lower())
        http_servers = await _start_http(core, server, settings)
        log.info("odradek listening on %s:%d (advertised %s:%d), data dir %s, "
                 "%d partition(s) recovered, cluster id %s, ready in %.0f ms",
                 settings.host, port, core.advertised_host, core.advertised_port,
                 settings.data_dir.resolve(), core.recovered_partitions, core.cluster_id,
                 (time.monotonic() - started) * 1000)
        if on_ready is not None:
            on_ready(server)
        await stop.wait()
        log.info("shutting down")
        for http in http_servers:
            await http.stop()
        await server.stop()
    finally:
        core.close()
        if core.stats is not None:
            from ..log import segment

            segment.fsync_observers.remove(core.stats.fsynced)
        log.info("stopped; logs flushed and closed")


# --------------------------------------------------------------------------- HTTP listeners
# The metrics endpoint and the web console are optional HTTP listeners on the same event loop
# (settings.metrics_port / console_port); both only read the broker's state.


def _enable_metrics(core: BrokerCore) -> None:
    from ..log import segment
    from ..metrics import BrokerStats

    core.stats = BrokerStats()
    segment.fsync_observers.append(core.stats.fsynced)


async def _start_http(core: BrokerCore, server: KafkaServer, settings: BrokerSettings) -> list:
    from ..console.httpd import HttpServer, Response

    started = []
    metrics_route = None
    if settings.metrics_port is not None:
        from ..metrics import CONTENT_TYPE, new_registry, render

        registry = new_registry(core, server, core.stats)

        def metrics_route(request):
            return Response(200, render(registry), CONTENT_TYPE)

    same_port = settings.metrics_port is not None and (
        settings.metrics_port == settings.console_port and settings.metrics_port != 0)
    if settings.console_port is not None:
        from ..console.app import Console

        http = HttpServer("console")
        console = Console(core, server)
        console.install(http)
        if metrics_route is not None:
            http.route("GET", "/metrics", metrics_route)
        server.console_port = await http.start(settings.console_host or settings.host,
                                               settings.console_port)
        console.start()
        http.on_stop = console.stop
        started.append(http)
        log.info("web console on http://%s:%d/", settings.console_host or settings.host,
                 server.console_port)
        if same_port:
            server.metrics_port = server.console_port
    if metrics_route is not None and not same_port:
        http = HttpServer("metrics")
        http.route("GET", "/metrics", metrics_route)
        server.metrics_port = await http.start(settings.metrics_host or settings.host,
                                               settings.metrics_port)
        started.append(http)
        log.info("Prometheus metrics on http://%s:%d/metrics",
                 settings.metrics_host or settings.host, server.metrics_port)
    return started


def _raise_open_files_limit() -> None:
    """Every partition and connection holds file descriptors; Debian's default soft limit of
    1024 is reached with a few hundred partitions. Raise it to the hard limit, as Kafka's
    packaging does with its systemd unit."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass
