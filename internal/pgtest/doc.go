// Package pgtest gives tests a fresh, empty PostgreSQL database each.
//
// A package's tests share one server, started on the first URL call and
// stopped when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.URL(t) // a new database, named after the test
//		...
//	}
//
// The server is, in order of preference:
//   - the server at $SIGNER_TEST_DATABASE_URL (databases are created in it
//     and dropped after each test);
//   - a postgres:15 container, when a Docker engine answers (testcontainers-go);
//   - a local throwaway cluster from the installed binaries (internal/pgcluster,
//     with fsync off: test data need not survive a crash).
//
// When there is none, URL skips the test, or fails it when CI=true.
package pgtest
