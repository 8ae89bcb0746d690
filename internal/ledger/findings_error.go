package ledger

import (
	"fmt"
	"strings"
)

// maxFindingsListed bounds the findings a FindingsError names.
const maxFindingsListed = 10

// FindingsError reports tables that disagree with the log. Its text lists
// the findings (row keys and the columns that differ, as `signerctl ledger
// verify` prints them): it is meant for the security admin who asked,
// and names no secret.
type FindingsError struct {
	Findings []Finding
}

func (e *FindingsError) Error() string {
	msgs := make([]string, 0, min(len(e.Findings), maxFindingsListed+1))
	for _, f := range e.Findings {
		if len(msgs) == maxFindingsListed {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(e.Findings)-maxFindingsListed))
			break
		}
		msgs = append(msgs, f.String())
	}
	return strings.Join(msgs, "; ")
}
