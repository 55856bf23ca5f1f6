#!/usr/bin/env bash
# Local infrastructure for running and testing the platform: a real RabbitMQ and a real
# MongoDB-protocol server. Idempotent: starts only what is not running.
#
#   deploy/infra.sh up        start (installing if needed) and print the URLs
#   deploy/infra.sh down      stop what this script started
#   deploy/infra.sh status    say what is running
#   deploy/infra.sh env       print `export AMQP_URL=... MONGO_URL=...` for the running infrastructure
#   deploy/infra.sh rabbitmq-stop | rabbitmq-start | rabbitmq-kill    (used by the resilience tests)
#
# Which infrastructure (DESIGN.md, "Local and test infrastructure"):
#   1. AMQP_URL and MONGO_URL both set  -> used as they are; nothing is started
#                                          (and RABBITMQ_MANAGEMENT_URL, if set: else :15672).
#   2. a Docker engine answers          -> rabbitmq:3-management and mongo:7 through testcontainers.
#   3. otherwise                        -> Debian's rabbitmq-server (management plugin on) and
#                                          FerretDB v1.24.2 built with Go, on a PostgreSQL cluster of
#                                          Debian's postgresql-15 with its data under .local/
#                                          (FERRETDB_BACKEND=sqlite: SQLite files under .local/).
# Anything missing is a clear error naming what to install; never a silent skip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
STATE_ENV="$LOCAL/infra.env"
FERRETDB_VERSION="v1.24.2"
# The local build carries small patches (deploy/ferretdb/README.md): its version says so, and
# a binary without them is rebuilt. The binary's name carries the build, so worktrees or clones
# that want different builds do not overwrite one another's.
FERRETDB_BUILD="v1.24.2-amman.5"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"
FERRETDB_PORT="${FERRETDB_PORT:-27017}"
FERRETDB_DIR="$LOCAL/ferretdb"
FERRETDB_BIN="${FERRETDB_BIN:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin/ferretdb-$FERRETDB_BUILD}"
# postgresql (the default: equality filters reach SQL and its indexes, measured in the README) or
# sqlite. Changing it on a running FerretDB takes `deploy/infra.sh down` first.
FERRETDB_BACKEND="${FERRETDB_BACKEND:-postgresql}"
# A cluster of this script's own (not Debian's `main` on 5432), listening on 127.0.0.1 only.
POSTGRES_PORT="${POSTGRES_PORT:-5433}"
POSTGRES_DIR="$LOCAL/postgres"
POSTGRES_VERSION=15
RABBITMQ_PORT=5672
RABBITMQ_MANAGEMENT_PORT=15672
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"

say() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    port_open "$1" && return 0
    sleep 0.2
  done
  die "$3 did not accept connections on 127.0.0.1:$1 within $2 s"
}

apt_install() { # package...
  [ "$(id -u)" = 0 ] || die "install Debian's package(s) $* (apt-get install $*): this script needs root to do it"
  command -v apt-get >/dev/null || die "install $* (no apt-get on this machine)"
  say "installing $* from Debian's packages"
  if [ ! -f "$LOCAL/.apt-updated" ]; then
    apt-get update -qq >/dev/null
    mkdir -p "$LOCAL" && touch "$LOCAL/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

docker_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# --- RabbitMQ (Debian's package) -------------------------------------------------------------

rabbitmq_running() { rabbitmqctl -q status >/dev/null 2>&1; }

rabbitmq_up() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-plugins -q --offline enable rabbitmq_management >/dev/null
  if ! rabbitmq_running; then
    say "starting RabbitMQ"
    rabbitmq-server -detached
  fi
  # Right after -detached the node may not answer yet, and await_startup then fails at once.
  local i
  for ((i = 0; i < 120; i++)); do
    rabbitmqctl -q await_startup --timeout 120 >/dev/null 2>&1 && break
    sleep 1
  done
  ((i < 120)) || die "RabbitMQ did not start: see /var/log/rabbitmq/"
  wait_port "$RABBITMQ_PORT" 60 RabbitMQ
}

rabbitmq_stop() {
  if rabbitmq_running; then
    say "stopping RabbitMQ"
    rabbitmqctl -q stop >/dev/null 2>&1 || true
  fi
  local i
  for ((i = 0; i < 150; i++)); do port_open "$RABBITMQ_PORT" || return 0; sleep 0.2; done
  die "RabbitMQ still listens on $RABBITMQ_PORT"
}

rabbitmq_kill() {
  # The node's own Erlang VM, by its pid (asked of the node): never a kill by name pattern, which
  # would also hit any other RabbitMQ node on the machine (deploy/rabbitmq-cluster.sh's).
  local pid
  pid="$(rabbitmqctl -q eval 'os:getpid().' 2>/dev/null | tr -dc '0-9')" || true
  [ -n "$pid" ] || die "RabbitMQ does not answer: no pid to kill"
  say "killing RabbitMQ (pid $pid) with SIGKILL"
  kill -9 "$pid" || true
  local i
  for ((i = 0; i < 150; i++)); do port_open "$RABBITMQ_PORT" || return 0; sleep 0.2; done
  die "RabbitMQ still listens on $RABBITMQ_PORT after SIGKILL"
}

# --- FerretDB v1 (built from the Go module proxy) ---------------------------------------------

ferretdb_build() {
  command -v go >/dev/null || die "install Go (Debian's golang package, or go.dev) to build FerretDB $FERRETDB_VERSION"
  say "building FerretDB $FERRETDB_VERSION with Go (once; about a minute)"
  # `go install module@version` fails here: the proxy refuses the module's version list, which
  # `go install` reads for deprecation notices. Downloading the exact version works, so build that.
  local dir src
  dir="$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "could not download $FERRETDB_MODULE@$FERRETDB_VERSION from the Go module proxy"
  src="$(mktemp -d)"
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  # The module zip lacks the generated version file the binary embeds (upstream: `task gen-version`).
  echo "$FERRETDB_BUILD" >"$src/build/version/version.txt"
  # Serialise each collection's write commands so that conditional single-document updates are
  # atomic, as they are in MongoDB (see the comment in write_lock.go).
  cp "$ROOT/deploy/ferretdb/write_lock.go" "$src/internal/handler/write_lock.go"
  local command
  for command in MsgUpdate MsgFindAndModify MsgDelete MsgInsert; do
    sed -i "/^func (h \*Handler) $command(connCtx context.Context, msg \*wire.OpMsg) (\*wire.OpMsg, error) {\$/a defer writeLock(msg)()" \
      "$src/internal/handler/msg_$(echo "${command#Msg}" | tr '[:upper:]' '[:lower:]').go"
  done
  [ "$(grep -l 'defer writeLock(msg)()' "$src"/internal/handler/msg_*.go | wc -l)" = 4 ] ||
    die "could not apply the write-lock patch to FerretDB's source"
  # Look documents up by primary key whenever the filter names an `_id` (upstream: only when the
  # filter is `_id` alone), so `{_id, version}` updates do not read the whole collection. Every
  # caller filters the rows again with the full filter, so this only narrows what is read.
  sed -i '0,/^\tif params.Filter.Len() == 1 {$/s//\tif params.Filter.Len() >= 1 {/' \
    "$src/internal/backends/sqlite/collection.go"
  grep -q '^	if params.Filter.Len() >= 1 {$' "$src/internal/backends/sqlite/collection.go" ||
    die "could not apply the _id lookup patch to FerretDB's source"
  # PostgreSQL: `_id` filters as `=` (its B-tree serves them), and GIN indexes that serve the
  # pushed-down equality filters of every other indexed field.
  (cd "$src" && git apply -p1 "$ROOT/deploy/ferretdb/postgresql.patch") ||
    die "could not apply deploy/ferretdb/postgresql.patch to FerretDB's source"
  # PostgreSQL: a write of one statement (an insert's batch, one document's update) without
  # BEGIN and COMMIT around it: one round trip instead of three.
  (cd "$src" && git apply -p1 "$ROOT/deploy/ferretdb/single_statement.patch") ||
    die "could not apply deploy/ferretdb/single_statement.patch to FerretDB's source"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$src" && GOTOOLCHAIN=local go build -trimpath -o "$FERRETDB_BIN" ./cmd/ferretdb)
  rm -rf "$src"
}

ferretdb_pid() {
  local pid
  pid="$(cat "$FERRETDB_DIR/ferretdb.pid" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# --- PostgreSQL (Debian's postgresql-15), FerretDB's default backend ------------------------

postgres_bin() { echo "/usr/lib/postgresql/$POSTGRES_VERSION/bin/$1"; }

# As root, the `postgres` user must reach the data directory; a checkout under a private home
# (e.g. /root) is out of its reach, so the cluster then lives in Debian's own place for clusters.
postgres_locate() {
  if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 &&
    ! (mkdir -p "$LOCAL" && runuser -u postgres -- test -x "$LOCAL"); then
    POSTGRES_DIR="/var/lib/postgresql/amman-eservices-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
  fi
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to Debian's `postgres` user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_ctl() { # pg_ctl arguments...
  as_postgres "$(postgres_bin pg_ctl)" -D "$POSTGRES_DIR/data" "$@"
}

postgres_running() { postgres_locate; [ -d "$POSTGRES_DIR/data" ] && postgres_ctl status >/dev/null 2>&1; }

postgres_up() {
  [ -x "$(postgres_bin postgres)" ] || apt_install "postgresql-$POSTGRES_VERSION"
  [ -x "$(postgres_bin postgres)" ] || die "install Debian's postgresql-$POSTGRES_VERSION"
  postgres_locate
  if [ ! -f "$POSTGRES_DIR/data/PG_VERSION" ]; then
    say "creating a PostgreSQL $POSTGRES_VERSION cluster under .local/postgres"
    mkdir -p "$POSTGRES_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$POSTGRES_DIR"
    # trust on 127.0.0.1: a local development and test server (FerretDB is its only client).
    as_postgres "$(postgres_bin initdb)" -D "$POSTGRES_DIR/data" -U postgres --auth=trust \
      -E UTF8 --locale=C.UTF-8 >"$POSTGRES_DIR/initdb.log" 2>&1 ||
      die "initdb failed: see $POSTGRES_DIR/initdb.log"
  fi
  if ! postgres_running; then
    port_open "$POSTGRES_PORT" &&
      die "something else listens on 127.0.0.1:$POSTGRES_PORT; set POSTGRES_PORT to a free port"
    say "starting PostgreSQL $POSTGRES_VERSION on 127.0.0.1:$POSTGRES_PORT (data under .local/postgres)"
    # synchronous_commit=off, as SQLite's synchronous(normal) was: a crash loses at most the
    # last few hundred milliseconds of commits, never consistency (fsync stays on), and a commit
    # does not wait for one (a local development and test server).
    postgres_ctl -l "$POSTGRES_DIR/postgres.log" -w -t 60 start -o \
      "-p $POSTGRES_PORT -k $POSTGRES_DIR -c listen_addresses=127.0.0.1 -c synchronous_commit=off" \
      >/dev/null || die "PostgreSQL did not start: see $POSTGRES_DIR/postgres.log"
  fi
  wait_port "$POSTGRES_PORT" 60 PostgreSQL
  if ! as_postgres "$(postgres_bin psql)" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -tAq \
    -c "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1; then
    as_postgres "$(postgres_bin createdb)" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres ferretdb
  fi
}

postgres_down() {
  if postgres_running; then
    say "stopping PostgreSQL"
    postgres_ctl -m fast -w stop >/dev/null || true
  fi
}

ferretdb_up() {
  if ! "$FERRETDB_BIN" --version 2>/dev/null | grep -qx "version: $FERRETDB_BUILD"; then
    ferretdb_build
  fi
  case "$FERRETDB_BACKEND" in
    postgresql) postgres_up ;;
    sqlite) ;;
    *) die "FERRETDB_BACKEND is postgresql or sqlite, not '$FERRETDB_BACKEND'" ;;
  esac
  if ferretdb_pid >/dev/null; then
    return 0
  fi
  port_open "$FERRETDB_PORT" &&
    die "something else listens on 127.0.0.1:$FERRETDB_PORT; stop it, or set MONGO_URL to use it"
  mkdir -p "$FERRETDB_DIR/data"
  local storage
  if [ "$FERRETDB_BACKEND" = postgresql ]; then
    storage=(--handler=postgresql
      --postgresql-url="postgres://postgres@127.0.0.1:$POSTGRES_PORT/ferretdb")
    say "starting FerretDB $FERRETDB_VERSION (PostgreSQL on 127.0.0.1:$POSTGRES_PORT)"
  else
    # synchronous(normal) with SQLite's WAL: a commit survives a crash of FerretDB, not a power
    # cut, and costs no fsync (measured: the fsync per commit capped writes at ~200/s).
    storage=(--handler=sqlite --sqlite-url="file:$FERRETDB_DIR/data/?_pragma=synchronous(normal)")
    say "starting FerretDB $FERRETDB_VERSION (SQLite under .local/ferretdb)"
  fi
  echo "$FERRETDB_BACKEND" >"$FERRETDB_DIR/backend"
  # Telemetry stays disabled: this machine reaches no outside host.
  # SQLite keeps one lock for all writes (deploy/ferretdb/write_lock.go); PostgreSQL one per
  # collection.
  local lock=collection
  [ "$FERRETDB_BACKEND" = sqlite ] && lock=global
  AMMAN_WRITE_LOCK="$lock" setsid nohup "$FERRETDB_BIN" "${storage[@]}" \
    --state-dir="$FERRETDB_DIR" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" --debug-addr=- --telemetry=disable \
    --log-level=warn >"$FERRETDB_DIR/ferretdb.log" 2>&1 </dev/null &
  echo $! >"$FERRETDB_DIR/ferretdb.pid"
  wait_port "$FERRETDB_PORT" 60 FerretDB
}

ferretdb_down() {
  local pid
  if pid="$(ferretdb_pid)"; then
    say "stopping FerretDB"
    kill "$pid"
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$FERRETDB_DIR/ferretdb.pid"
}

# --- the three ways ---------------------------------------------------------------------------

write_env() { # amqp mongo mode [management-url]
  mkdir -p "$LOCAL"
  printf 'export AMQP_URL=%q\nexport MONGO_URL=%q\nexport INFRA_MODE=%q\n' "$1" "$2" "$3" >"$STATE_ENV"
  # RabbitMQ's management API, which the tests use for virtual hosts and users of their own: when
  # not recorded, they look on port 15672 of the broker's host (tests/integration/helpers.py).
  if [ -n "${4:-}" ]; then printf 'export RABBITMQ_MANAGEMENT_URL=%q\n' "$4" >>"$STATE_ENV"; fi
}

containers() { # up|down
  [ -x "$PYTHON" ] || die "the Docker path needs the project's virtualenv: run 'make install' first"
  "$PYTHON" "$ROOT/deploy/containers.py" "$1" "$STATE_ENV"
}

up() {
  if [ -n "${AMQP_URL:-}" ] && [ -n "${MONGO_URL:-}" ]; then
    say "using AMQP_URL and MONGO_URL from the environment"
    write_env "$AMQP_URL" "$MONGO_URL" external "${RABBITMQ_MANAGEMENT_URL:-}"
  elif docker_answers; then
    containers up
  else
    rabbitmq_up
    ferretdb_up
    write_env "amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/" "mongodb://127.0.0.1:$FERRETDB_PORT/" \
      local "http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT/"
  fi
  status
}

down() {
  local mode
  mode="$( (. "$STATE_ENV" 2>/dev/null && echo "${INFRA_MODE:-}") || true)"
  case "$mode" in
    external) say "external infrastructure: nothing to stop" ;;
    docker) containers down ;;
    *) ferretdb_down; postgres_down; rabbitmq_stop ;;
  esac
  rm -f "$STATE_ENV"
}

status() {
  [ -f "$STATE_ENV" ] || { say "not started (run: deploy/infra.sh up)"; return 1; }
  # shellcheck disable=SC1090
  . "$STATE_ENV"
  local mode="$INFRA_MODE"
  echo "infrastructure ($mode):"
  echo "  RabbitMQ  $AMQP_URL"
  if [ -n "${RABBITMQ_MANAGEMENT_URL:-}" ]; then
    echo "            management UI $RABBITMQ_MANAGEMENT_URL$([ "$mode" = local ] && echo " (guest/guest)")"
  fi
  local backend
  backend="$(cat "$FERRETDB_DIR/backend" 2>/dev/null || echo "$FERRETDB_BACKEND")"
  echo "  MongoDB   $MONGO_URL$([ "$mode" = local ] && echo " (FerretDB $FERRETDB_BUILD, $backend)")"
  if [ "$mode" = local ]; then
    rabbitmq_running && echo "  RabbitMQ: running" || echo "  RabbitMQ: NOT running"
    ferretdb_pid >/dev/null && echo "  FerretDB: running" || echo "  FerretDB: NOT running"
    if [ "$backend" = postgresql ]; then
      postgres_running && echo "  PostgreSQL: running (127.0.0.1:$POSTGRES_PORT)" ||
        echo "  PostgreSQL: NOT running"
    fi
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env)
    if [ ! -f "$STATE_ENV" ]; then up >/dev/null; fi
    cat "$STATE_ENV"
    ;;
  rabbitmq-stop) rabbitmq_stop ;;
  rabbitmq-start) rabbitmq_up ;;
  rabbitmq-kill) rabbitmq_kill ;;
  *) echo "usage: $0 up|down|status|env|rabbitmq-stop|rabbitmq-start|rabbitmq-kill" >&2; exit 2 ;;
esac
