"""The broker inside your Python process: `with Broker(data_dir=...) as b: b.bootstrap_servers`.

It runs the same server as `odradek serve`, on its own event loop in a background thread.
Helpers for tests: `create_topic`, `restart` (same port and data), `faults` (drop connections,
delay or fail the next requests of an API: odradek.testing.faults).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path

from .broker.settings import BrokerSettings, config_string
from .server.app import new_event_loop, serve


class Broker:
    def __init__(self, data_dir: str | Path | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, config: dict[str, str] | None = None,
                 advertised_host: str | None = None,
                 advertised_port: int | None = None, metrics_port: int | None = None,
                 console_port: int | None = None) -> None:
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="odradek-")
            data_dir = self._tmp.name
        self.settings = BrokerSettings(
            host=host, port=port, data_dir=Path(data_dir), advertised_host=advertised_host,
            advertised_port=advertised_port, metrics_port=metrics_port,
            console_port=console_port,
            properties={k: config_string(v) for k, v in (config or {}).items()})
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.server = None
        self._faults = None

    @property
    def bootstrap_servers(self) -> str:
        if self.server is not None and self.server.listeners:  # the first listener's
            host, port = self.server.listeners[0].endpoint
            return f"{host}:{port}"
        host = self.settings.advertised_host or self.settings.host
        return f"{host}:{self.port}"

    def listener_port(self, name: str) -> int:
        """The port of a listener of the `listeners` config (`"SASL_SSL"`, ...), e.g. with
        config={"listeners": "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0"}."""
        return self.server.listener_port(name)

    def bootstrap(self, listener: str) -> str:
        """host:port of one listener, as clients of that listener should use it."""
        for lst in self.server.listeners:
            if lst.name == listener.upper():
                host, port = lst.endpoint
                return f"{host}:{port}"
        host = self.settings.advertised_host or self.settings.host
        return f"{host}:{self.listener_port(listener)}"

    def set_scram_credential(self, user: str, password: str, mechanism: str = "SCRAM-SHA-256",
                             iterations: int = 4096) -> None:
        """Create or replace a SASL/SCRAM user (stored salted and hashed, as
        AlterUserScramCredentials stores it)."""
        self.call(self.server.core.scram.set_password, user, mechanism, password, iterations)

    def start(self) -> Broker:
        ready = threading.Event()

        def on_ready(server) -> None:
            self.server = server
            self.port = server.port
            if self._faults is not None:  # installed before a restart: keep it
                server.faults = self._faults._injector
            ready.set()

        def run() -> None:
            loop = self._loop = new_event_loop()
            asyncio.set_event_loop(loop)
            self._stop = asyncio.Event()
            try:
                loop.run_until_complete(serve(self.settings, self._stop, on_ready))
            except BaseException as exc:  # reported to the thread that called start()
                self._error = exc
            finally:
                ready.set()
                loop.close()

        self._error = None
        self._thread = threading.Thread(target=run, name="odradek-broker", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("broker failed to start") from self._error
        return self

    @property
    def metrics_url(self) -> str | None:
        """http://host:port/metrics when started with metrics_port (0: a free port)."""
        port = self.server.metrics_port if self.server else None
        return f"http://{self.settings.metrics_host or self.settings.host}:{port}/metrics" if (
            port) else None

    @property
    def console_url(self) -> str | None:
        """http://host:port/ when started with console_port (0: a free port)."""
        port = self.server.console_port if self.server else None
        return f"http://{self.settings.console_host or self.settings.host}:{port}/" if (
            port) else None

    def create_topic(self, name: str, partitions: int = 1,
                     config: dict[str, str] | None = None) -> None:
        """Create a topic (KafkaError if it exists or the arguments are invalid)."""
        configs = {k: config_string(v) for k, v in (config or {}).items()}
        self.call(self.server.core.create_topic, name, partitions, None, configs)

    def delete_topic(self, name: str) -> None:
        self.call(self.server.core.delete_topic, name)

    @property
    def faults(self):
        """Fault injection (odradek.testing.faults.Faults): drop_connections(),
        drop_next(api), delay_next(api, ms), fail_next(api, error), clear()."""
        if self._faults is None:
            from .testing.faults import FaultInjector, Faults

            injector = FaultInjector()
            self._faults = Faults(injector, self.call, lambda: self.server)
            self.call(setattr, self.server, "faults", injector)
        return self._faults

    def restart(self) -> Broker:
        """Stop and start again on the same port with the same data (a broker restart as
        clients see it: connections drop, then they reconnect)."""
        self._stop_thread()
        if self.port:
            self.settings.port = self.port
        if self.server is not None and self.server.listeners:  # keep the ports of port 0
            self.settings.properties["listeners"] = ",".join(
                f"{lst.name}://{_host(lst.host)}:{lst.bound_port}"
                for lst in self.server.listeners)
        return self.start()

    def call(self, func, *args):
        """Run `func(*args)` on the broker's loop and return its result (for tests, tools)."""
        if asyncio.iscoroutinefunction(func):
            return asyncio.run_coroutine_threadsafe(func(*args), self._loop).result()

        async def wrapper():
            return func(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        if self._thread.is_alive() and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None

    def stop(self) -> None:
        self._stop_thread()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
