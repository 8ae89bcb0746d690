package ledger_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/appsign/signer/internal/ledger"
)

func TestListPages(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()

	// Interleave apps and versions so every filter's matches are scattered.
	var all []ledger.Entry
	for i := range 30 {
		app := []string{"com.example.a", "com.example.b", "com.example.c"}[i%3]
		version := fmt.Sprintf("1.%d", i%2)
		e, _, err := s.Record(ctx, entry(app, version, fmt.Sprintf("req-%d", i)))
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		all = append(all, e)
	}

	tests := []struct {
		name         string
		app, version string
		limit        int
	}{
		{"everything, page of 7", "", "", 7},
		{"one app, page of 3", "com.example.b", "", 3},
		{"app and version, page of 2", "com.example.a", "1.0", 2},
		{"version only, page of 4", "", "1.1", 4},
		{"one page holds all", "com.example.c", "", 1000},
		{"no match", "com.example.none", "", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, e := range all {
				if (tt.app == "" || e.AppKey == tt.app) && (tt.version == "" || e.Version == tt.version) {
					want = append(want, e.ID)
				}
			}
			var got []int64
			after := int64(0)
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatal("List never ran out of entries")
				}
				page, err := s.List(ctx, ledger.Filter{AppKey: tt.app, Version: tt.version, AfterID: after, Limit: tt.limit})
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if len(page) > tt.limit {
					t.Fatalf("page of %d entries, limit %d", len(page), tt.limit)
				}
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					if (tt.app != "" && e.AppKey != tt.app) || (tt.version != "" && e.Version != tt.version) {
						t.Errorf("entry %d (%s %s) does not match the filter", e.ID, e.AppKey, e.Version)
					}
					got = append(got, e.ID)
				}
				after = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("ids over all pages = %v, want %v", got, want)
			}
		})
	}

	// Entries from List are whole.
	page, err := s.List(ctx, ledger.Filter{Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("List: %v, %d entries", err, len(page))
	}
	if diff := equalEntries(page[0], all[0]); diff != "" {
		t.Errorf("List entry differs from Record's: %s", diff)
	}
}

func TestListRejectsBadFilters(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	tests := []struct {
		name string
		f    ledger.Filter
	}{
		{"zero limit", ledger.Filter{}},
		{"negative limit", ledger.Filter{Limit: -1}},
		{"limit over max", ledger.Filter{Limit: ledger.MaxListLimit + 1}},
		{"negative after id", ledger.Filter{Limit: 10, AfterID: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.List(t.Context(), tt.f); !errors.Is(err, ledger.ErrInvalidFilter) {
				t.Errorf("err = %v, want ErrInvalidFilter", err)
			}
		})
	}
}
