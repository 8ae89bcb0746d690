// Package dbroles owns the PostgreSQL roles the signer runs under and the
// privileges each gets:
//
//   - the migration role owns the schema: it runs the migrations, so it
//     owns every table, function and trigger;
//   - the service role (`signer serve`) can select and insert, and update
//     only the columns the ledger's state machine moves (log head, key
//     version state, approvals, revocation times), each of which a trigger
//     guards; it owns nothing, so it cannot disable those triggers, and it
//     can delete or truncate nothing.
//
// Setup creates both and applies the privileges; Check tells `signer
// serve` whether it connected as something more powerful (a superuser, or
// a member of a role owning the tables), which it refuses outside a
// development setup.
package dbroles
