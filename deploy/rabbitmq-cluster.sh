#!/usr/bin/env bash
# RabbitMQ nodes of this script's own, beside the machine's shared node (5672/25672/15672): one node
# for the chaos benchmark (it kills its broker) or a three-node cluster with quorum queues (the
# production queue type, which the local single node cannot test: deploy/README.md, "Queue type").
#
#   deploy/rabbitmq-cluster.sh start NAME COUNT [BASE]   start COUNT nodes (1 or 3) and cluster them
#   deploy/rabbitmq-cluster.sh stop NAME                 stop NAME's nodes (killed by pid if needed)
#   deploy/rabbitmq-cluster.sh kill NAME I               SIGKILL node I by its own pid
#   deploy/rabbitmq-cluster.sh restart NAME I            start node I again (after a kill)
#   deploy/rabbitmq-cluster.sh urls NAME                 the AMQP URLs, comma-separated (AMQP_URL)
#   deploy/rabbitmq-cluster.sh pid NAME I                node I's Erlang VM pid
#   deploy/rabbitmq-cluster.sh ctl NAME I ARGS...        rabbitmqctl against node I
#
# Node I (1..COUNT) of NAME is `NAME-I@<host>`, listening on AMQP BASE+I, distribution 20000+BASE+I
# and management 10000+BASE+I (BASE defaults to 5780: 5781-5783, 25781-25783, 15781-15783), with
# its data, logs, pid file and its own Erlang cookie under .local/rabbitmq/NAME/ (HOME is set
# there, so the shared node's cookie is neither read nor needed). The nodes run as the calling
# user from Debian's rabbitmq-server package, one scheduler each (the machine is small). Nothing
# here ever touches the shared node, and nothing is killed by a name pattern: only by the pid the
# node itself wrote.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RABBIT_BIN="${RABBIT_BIN:-/usr/lib/rabbitmq/bin}"
HOST="$(hostname -s)"

say() { printf '[rabbitmq-cluster] %s\n' "$*" >&2; }
die() { printf '[rabbitmq-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dir_of() { echo "$ROOT/.local/rabbitmq/$1"; }
base_of() { # NAME -> BASE (recorded at start)
  local file
  file="$(dir_of "$1")/base"
  [ -f "$file" ] || die "no nodes named $1 were started (deploy/rabbitmq-cluster.sh start $1 ...)"
  cat "$file"
}
count_of() { cat "$(dir_of "$1")/count"; }
node_of() { echo "$1-$2@$HOST"; }

node_env() { # NAME I: export the environment of node I (call in a subshell)
  local name=$1 i=$2 base dir
  base="$(base_of "$name")"
  dir="$(dir_of "$name")/node$i"
  export HOME
  HOME="$(dir_of "$name")"
  export RABBITMQ_NODENAME="$(node_of "$name" "$i")"
  export RABBITMQ_NODE_PORT=$((base + i))
  export RABBITMQ_DIST_PORT=$((20000 + base + i))
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/pid"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$HOME/enabled_plugins"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
}

ctl() { # NAME I ARGS...
  local name=$1 i=$2
  shift 2
  (node_env "$name" "$i" && "$RABBIT_BIN/rabbitmqctl" -n "$(node_of "$name" "$i")" "$@")
}

pid_of() { # NAME I -> pid, or nothing
  local file
  file="$(dir_of "$1")/node$2/pid"
  [ -f "$file" ] || return 0
  local pid
  pid="$(tr -dc '0-9' <"$file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid" || true
}

start_node() { # NAME I
  local name=$1 i=$2 base dir port
  base="$(base_of "$name")"
  dir="$(dir_of "$name")/node$i"
  port=$((base + i))
  mkdir -p "$dir/log" "$dir/mnesia"
  [ -z "$(pid_of "$name" "$i")" ] || { say "node $i already runs"; return 0; }
  port_open "$port" && die "port $port is taken by something else"
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = $port
management.tcp.port = $((10000 + base + i))
loopback_users.guest = true
vm_memory_high_watermark.absolute = 512MiB
disk_free_limit.absolute = 50MB
EOF
  say "starting $(node_of "$name" "$i") (AMQP $port)"
  rm -f "$dir/pid"
  (cd "$dir" && node_env "$name" "$i" && exec setsid "$RABBIT_BIN/rabbitmq-server") \
    >"$dir/log/stdout.log" 2>&1 </dev/null &
  local n
  for ((n = 0; n < 300; n++)); do
    port_open "$port" && [ -n "$(pid_of "$name" "$i")" ] && break
    sleep 0.2
  done
  ((n < 300)) || die "node $i did not start: see $dir/log/"
  ctl "$name" "$i" -q await_startup --timeout 60 >/dev/null
}

start() { # NAME COUNT [BASE]
  local name=$1 count=$2 base=${3:-5780} dir i
  command -v "$RABBIT_BIN/rabbitmq-server" >/dev/null || die "install Debian's rabbitmq-server"
  [[ "$name" =~ ^[a-z0-9-]+$ ]] || die "a node name is lower-case letters, digits and dashes"
  dir="$(dir_of "$name")"
  mkdir -p "$dir"
  echo "$base" >"$dir/base"
  echo "$count" >"$dir/count"
  if [ ! -f "$dir/.erlang.cookie" ]; then
    head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$dir/.erlang.cookie"
    chmod 400 "$dir/.erlang.cookie"
  fi
  echo '[rabbitmq_management].' >"$dir/enabled_plugins"
  for ((i = 1; i <= count; i++)); do start_node "$name" "$i"; done
  for ((i = 2; i <= count; i++)); do
    if ! ctl "$name" "$i" -q cluster_status 2>/dev/null | grep -q "$(node_of "$name" 1)"; then
      say "joining node $i to node 1"
      ctl "$name" "$i" -q stop_app
      ctl "$name" "$i" -q join_cluster "$(node_of "$name" 1)"
      ctl "$name" "$i" -q start_app
    fi
  done
  urls "$name"
}

stop() { # NAME
  local name=$1 i pid count
  count="$(count_of "$name")"
  for ((i = count; i >= 1; i--)); do
    pid="$(pid_of "$name" "$i")"
    [ -n "$pid" ] || continue
    ctl "$name" "$i" -q stop >/dev/null 2>&1 || true
    local n
    for ((n = 0; n < 100; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped node $i"
  done
  return 0
}

kill_node() { # NAME I
  local pid
  pid="$(pid_of "$1" "$2")"
  [ -n "$pid" ] || die "node $2 of $1 is not running"
  say "killing node $2 (pid $pid) with SIGKILL"
  kill -9 "$pid"
  local port=$(($(base_of "$1") + $2)) n
  for ((n = 0; n < 150; n++)); do port_open "$port" || return 0; sleep 0.1; done
  die "node $2 still listens on $port after SIGKILL"
}

urls() { # NAME
  local name=$1 base count i out=()
  base="$(base_of "$name")"
  count="$(count_of "$name")"
  for ((i = 1; i <= count; i++)); do out+=("amqp://guest:guest@127.0.0.1:$((base + i))/"); done
  (IFS=,; echo "${out[*]}")
}

case "${1:-}" in
  start) [ $# -ge 3 ] || die "usage: $0 start NAME COUNT [BASE]"; start "$2" "$3" "${4:-5780}" ;;
  stop) stop "$2" ;;
  kill) kill_node "$2" "$3" ;;
  restart) start_node "$2" "$3" ;;
  urls) urls "$2" ;;
  pid) pid_of "$2" "$3" ;;
  ctl) name=$2 i=$3; shift 3; ctl "$name" "$i" "$@" ;;
  *) echo "usage: $0 start|stop|kill|restart|urls|pid|ctl ..." >&2; exit 2 ;;
esac
