package pgcluster

import "errors"

// ErrNoBinaries means the PostgreSQL server binaries were not found.
var ErrNoBinaries = errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install them with `apt-get install postgresql` or set PG_BIN")

// ErrNoServerUser means the process runs as root and there is no `postgres`
// OS user to run the server as (PostgreSQL refuses to run as root).
var ErrNoServerUser = errors.New("pgcluster: running as root needs a `postgres` OS user to run the server (`apt-get install postgresql` creates it)")
