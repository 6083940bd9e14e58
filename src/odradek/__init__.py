"""odradek: an event streaming broker in Python that speaks the Apache Kafka wire protocol."""

__version__ = "0.1.0"

from .embedded import Broker  # noqa: E402

__all__ = ["Broker", "__version__"]
