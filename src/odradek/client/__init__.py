"""A small asyncio Kafka client on top of the sans-I/O `protocol` layer, for tools (the
`odradek` CLI). It speaks the Kafka protocol only, so it works against Apache Kafka too.

- `connection.py`: one connection, framing, ApiVersions negotiation (highest common version)
- `security.py`: `ClientSecurity` (TLS, SASL PLAIN / SCRAM) from Kafka client properties
- `client.py`: `Client`: metadata, topic admin, offsets, produce/fetch, group admin
- `producer.py`: batching `Producer` with Kafka's murmur2 key partitioner
- `consumer.py`: `Consumer`: fixed partitions or a KIP-848 consumer group member
"""

from .client import EARLIEST, LATEST, MAX_TIMESTAMP, Client, ClusterInfo, GroupDescription
from .connection import BrokerConnection
from .consumer import ConsumedRecord, Consumer
from .errors import ClientError, ConnectionClosed, KafkaClientError
from .producer import Producer, murmur2, partition_for_key
from .security import ClientSecurity

__all__ = [
    "EARLIEST", "LATEST", "MAX_TIMESTAMP", "BrokerConnection", "Client", "ClientError",
    "ClientSecurity",
    "ClusterInfo", "ConnectionClosed", "ConsumedRecord", "Consumer", "GroupDescription",
    "KafkaClientError", "Producer", "murmur2", "partition_for_key",
]
