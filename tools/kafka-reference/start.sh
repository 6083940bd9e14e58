#!/usr/bin/env bash
# Run a real Apache Kafka 4.x broker (KRaft, combined broker+controller, one node) in the
# foreground, so odradek's behaviour can be compared with Kafka's on the same requests.
#
#   tools/kafka-reference/start.sh PORT DATA_DIR [key=value ...]
#
# Clients connect to 127.0.0.1:PORT. The controller listens on 127.0.0.1:CONTROLLER_PORT
# (default PORT+1). Extra key=value arguments are appended to server.properties (later wins).
# Environment: KAFKA_VERSION (default 4.4.0), ODRADEK_INTEROP_CACHE (default
# ~/.cache/odradek-interop; the jars go there, never into the repo), KAFKA_HEAP (default
# -Xmx512m), KAFKA_LOG_LEVEL (default WARN).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 PORT DATA_DIR [key=value ...]" >&2
    exit 2
fi
port=$1
data_dir=$(mkdir -p "$2" && cd "$2" && pwd)
shift 2
here=$(cd "$(dirname "$0")" && pwd)
version=${KAFKA_VERSION:-4.4.0}
controller_port=${CONTROLLER_PORT:-$((port + 1))}
libs=${ODRADEK_INTEROP_CACHE:-$HOME/.cache/odradek-interop}/kafka-$version/libs

# Resolve the broker jar and its runtime dependencies once per version (again if pom.xml changed).
if [ ! -f "$libs/.complete" ] || [ "$here/pom.xml" -nt "$libs/.complete" ]; then
    echo "resolving org.apache.kafka:kafka_2.13:$version into $libs ..." >&2
    rm -rf "$libs"
    mvn -q -B -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$version" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
    touch "$libs/.complete"
fi

# Rewritten on every start so the ports and overrides always match the command line.
config=$data_dir/server.properties
cat > "$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data_dir/logs
# A single broker cannot host the defaults of 3 replicas for the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests create groups and expect the first join to complete at once.
group.initial.rebalance.delay.ms=0
PROPS
for kv in "$@"; do echo "$kv" >> "$config"; done

java=(java -Xms128m ${KAFKA_HEAP:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
      "-Dlog4j2.configurationFile=$here/log4j2.properties" -cp "$libs/*")

# Format the KRaft storage only the first time; later starts keep the data.
if [ ! -f "$data_dir/logs/meta.properties" ]; then
    cluster_id=$("${java[@]}" kafka.tools.StorageTool random-uuid)
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" >&2
fi

echo "Kafka $version: bootstrap 127.0.0.1:$port, controller 127.0.0.1:$controller_port, data $data_dir" >&2
exec "${java[@]}" kafka.Kafka "$config"
