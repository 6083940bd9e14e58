"""odradek: an event streaming broker in Python that speaks the Apache Kafka wire protocol."""

__version__ = "0.1.0"

__all__ = ["Broker", "__version__"]


def __getattr__(name: str):
    # `Broker` is imported on first use, so that the pytest plugin (loaded by every pytest run
    # through its entry point) and `odradek --version` do not pay for the broker's imports.
    if name == "Broker":
        from .embedded import Broker

        return Broker
    raise AttributeError(f"module 'odradek' has no attribute {name!r}")
