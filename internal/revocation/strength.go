package revocation

// Stronger returns the reason a revocation keeps when one in force with
// reason cur is revoked again with next: reasons never weaken. A
// compromise reason is final (key-compromise stays key-compromise,
// whatever a later request says); any other reason becomes a compromise
// when next is one, and stays as it is otherwise. The database enforces
// the same (migrations/00040).
func Stronger(cur, next Reason) Reason {
	if cur.Compromise() || !next.Compromise() {
		return cur
	}
	return next
}
