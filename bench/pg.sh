# Sourced by bench scripts: a throwaway PostgreSQL 15 cluster from the
# installed binaries, with the durable settings of `signer dev`'s
# (internal/pgcluster): fsync, synchronous_commit and full_page_writes on,
# unix socket only in a 0700 directory, trust authentication on it.
# As root, initdb and postgres run as the postgres OS user (they refuse root).

pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_as() { # runs a server binary as the cluster's OS user
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR: initdb in DIR, start, create database signer; sets PG_URL
# (superuser) and PG_DIR.
pg_start() {
  PG_DIR=$1
  mkdir -p "$PG_DIR/data" "$PG_DIR/sock"
  chmod 700 "$PG_DIR" "$PG_DIR/sock"
  if [[ $(id -u) == 0 ]]; then chown -R postgres "$PG_DIR"; fi
  pg_as "$pg_bin/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=reject \
    --encoding=UTF8 --locale=C --no-instructions >/dev/null
  pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = ''
unix_socket_directories = '$PG_DIR/sock'
unix_socket_permissions = 0700
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
  pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s start
  pg_as "$pg_bin/createdb" -h "$PG_DIR/sock" -U postgres signer
  PG_URL="postgres://postgres@/signer?host=$PG_DIR/sock&sslmode=disable"
}

pg_stop() {
  [[ -n ${PG_DIR:-} && -d $PG_DIR/data ]] || return 0
  pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -s stop || true
  rm -rf "$PG_DIR"
}
