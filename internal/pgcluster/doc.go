// Package pgcluster runs a throwaway PostgreSQL server from the binaries
// installed on the machine (initdb, pg_ctl, postgres). `signer dev` uses it
// as its ledger database and tests use it through internal/pgtest.
//
// It owns the whole life of that server: finding the binaries, creating the
// data directory, starting, creating databases and stopping.
//
// # Security
//
// The server listens on a unix socket only (listen_addresses is empty), never
// on TCP, and that socket lives in a directory with mode 0700 owned by the user
// the server runs as. Connections over the socket use `trust` authentication,
// so there is no password at all. That is acceptable only because nobody but
// that user (and root) can reach the socket: do not loosen the directory mode,
// and do not use this package for anything but a local, single-user server.
//
// When the process runs as root, initdb and postgres refuse to run, so they
// are run as the `postgres` OS user and the directory is given to that user.
// Every parent of the directory must then be traversable by that user, which
// is why the default directory is created under /tmp.
package pgcluster
