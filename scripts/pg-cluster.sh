#!/usr/bin/env bash
# A PostgreSQL 15 + pgvector 0.8.0 cluster on 127.0.0.1 for `medbridge export pg` / `search --pg` / `eval --pg`
# (issue 16): a coordinator (port 56432) and two shards (56433, 56434; MEDBRIDGE_PG_PORT moves them) that a sharded export reaches through
# postgres_fdw. The recipe of ../shared/notes/scaleout/: Debian's postgresql-15, pgvector built from Debian's
# source package (no edit of /etc/apt: a private apt configuration reuses the machine's own mirror).
#   bash scripts/pg-cluster.sh start    # install what is missing, initdb, start the three nodes; prints their URLs
#   bash scripts/pg-cluster.sh stop     # stop them (data kept under target/pg/<node>-<port>/)
#   bash scripts/pg-cluster.sh status
#   bash scripts/pg-cluster.sh destroy  # stop and delete the data
# Loopback only, trust authentication (never expose these ports). Postgres refuses to run as root: as root the
# nodes run as user `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."
W=$PWD/target/pg
BIN=/usr/lib/postgresql/15/bin
# MEDBRIDGE_PG_PORT moves the three ports (coordinator, shard 0, shard 1 = PORT, PORT+1, PORT+2).
P0=${MEDBRIDGE_PG_PORT:-56432}
# Data under target/pg/<node>-<port>/ (so clusters on other ports do not share it).
NODES=("coord-$P0 $P0" "shard0-$((P0 + 1)) $((P0 + 1))" "shard1-$((P0 + 2)) $((P0 + 2))")
t0=$(date +%s)
say() { echo "[pg-cluster $(( $(date +%s) - t0 ))s] $*" >&2; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# Run a command as the postgres user (as root), else as ourselves.
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

install() {
  if [ ! -x $BIN/postgres ] || [ ! -x $BIN/pg_config ] || ! command -v psql >/dev/null || [ ! -f "$($BIN/pg_config --includedir-server 2>/dev/null)/postgres.h" ]; then
    say "apt: postgresql-15, server-dev (for pgvector), client"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-server-dev-15 postgresql-client-15 make gcc dpkg-dev >/dev/null
  fi
  if [ ! -f "$($BIN/pg_config --sharedir)/extension/vector.control" ]; then
    say "pgvector 0.8.0 from Debian's source package (trixie), built against PostgreSQL 15"
    local A=$W/build/apt
    rm -rf "$W/build"; mkdir -p "$A"/{lists/partial,cache/archives/partial,parts}
    local MIRROR
    MIRROR=$(grep -h "^URIs:" /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}' || true)
    MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
    [ -n "$MIRROR" ] || { echo "no Debian mirror found in /etc/apt" >&2; exit 1; }
    echo "deb-src $MIRROR trixie main" > "$A/sources.list"
    local AO=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts="$A/parts" -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache")
    apt-get "${AO[@]}" update -qq
    (cd "$W/build" && apt-get "${AO[@]}" source -qq pgvector=0.8.0-1 2>&1 | grep -v 'Download is performed unsandboxed' || true)
    make -s -C "$W/build/pgvector-0.8.0" PG_CONFIG=$BIN/pg_config -j2 > "$W/build/make.log" 2>&1 || { tail -n 20 "$W/build/make.log"; exit 1; }
    $SUDO make -s -C "$W/build/pgvector-0.8.0" PG_CONFIG=$BIN/pg_config install >/dev/null
  fi
}

running() { [ -f "$W/$1/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl -D $W/$1/data status" >/dev/null 2>&1; }

start() {
  install
  mkdir -p "$W"
  for n in "${NODES[@]}"; do
    set -- $n
    if [ ! -f "$W/$1/data/PG_VERSION" ]; then
      rm -rf "${W:?}/$1"; mkdir -p "$W/$1/sock"
      [ "$(id -u)" != 0 ] || chown -R postgres:postgres "$W/$1"
      as_pg "$BIN/initdb -D $W/$1/data -U postgres --auth=trust -E UTF8 >/dev/null"
    fi
    if running "$1"; then continue; fi
    # Loopback only; the socket stays in the data's directory, not /var/run.
    as_pg "$BIN/pg_ctl -D $W/$1/data -l $W/$1/pg.log -o \"-c listen_addresses=127.0.0.1 -p $2 -k $W/$1/sock -c max_connections=50 -c shared_buffers=128MB -c maintenance_work_mem=256MB\" -w start >/dev/null"
  done
  # Directories above target/ must let the postgres user reach the sockets: it connects over TCP anyway.
  for n in "${NODES[@]}"; do
    set -- $n
    psql -X -q -h 127.0.0.1 -p "$2" -U postgres -d postgres -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  done
  psql -X -q -h 127.0.0.1 -p "$P0" -U postgres -d postgres -c "CREATE EXTENSION IF NOT EXISTS postgres_fdw" >/dev/null
  say "running: coordinator postgres://postgres@127.0.0.1:$P0/postgres, shards postgres://postgres@127.0.0.1:$((P0 + 1))/postgres and postgres://postgres@127.0.0.1:$((P0 + 2))/postgres"
}

stop() {
  for n in "${NODES[@]}"; do
    set -- $n
    if running "$1"; then as_pg "$BIN/pg_ctl -D $W/$1/data -m fast -w stop >/dev/null"; fi
  done
  say "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) for n in "${NODES[@]}"; do set -- $n; if running "$1"; then echo "$1 (port $2): running"; else echo "$1 (port $2): stopped"; fi; done ;;
  destroy) stop; for n in "${NODES[@]}"; do set -- $n; rm -rf "${W:?}/$1"; done; say "data deleted" ;;
  *) echo "usage: $0 start|stop|status|destroy" >&2; exit 2 ;;
esac
