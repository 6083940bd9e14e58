"""The broker inside your Python process: `with Broker(data_dir=...) as b: b.bootstrap_servers`.

It runs the same server as `odradek serve`, on its own event loop in a background thread.
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
                 advertised_port: int | None = None) -> None:
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="odradek-")
            data_dir = self._tmp.name
        self.settings = BrokerSettings(
            host=host, port=port, data_dir=Path(data_dir), advertised_host=advertised_host,
            advertised_port=advertised_port,
            properties={k: config_string(v) for k, v in (config or {}).items()})
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.server = None

    @property
    def bootstrap_servers(self) -> str:
        host = self.settings.advertised_host or self.settings.host
        return f"{host}:{self.port}"

    def start(self) -> Broker:
        ready = threading.Event()

        def on_ready(server) -> None:
            self.server = server
            self.port = server.port
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

        self._thread = threading.Thread(target=run, name="odradek-broker", daemon=True)
        self._thread.start()
        ready.wait()
        if self._error is not None:
            raise RuntimeError("broker failed to start") from self._error
        return self

    def call(self, func, *args):
        """Run `func(*args)` on the broker's loop and return its result (for tests, tools)."""
        if asyncio.iscoroutinefunction(func):
            return asyncio.run_coroutine_threadsafe(func(*args), self._loop).result()

        async def wrapper():
            return func(*args)

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._thread.is_alive() and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

