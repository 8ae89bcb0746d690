package translog_test

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/appsign/signer/internal/translog"
)

// fixture is a 40-leaf log in memory with checkpoints signed at 10, 20,
// 30 and 40, served as Log.Entries would serve it.
type fixture struct {
	key     *memSigner
	ref     memTree
	at      []time.Time
	entries []translog.Entry
	cps     map[int64][]byte
}

const fixtureSize = 40

func newFixture(t testing.TB, n int, sizes ...int64) *fixture {
	t.Helper()
	f := &fixture{key: newMemSigner("ledger"), cps: map[int64][]byte{}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		f.at = append(f.at, at)
		f.ref.add(t, translog.EncodeLeaf(translog.KindSignature, payload(i), at))
	}
	f.entries = f.serve(&f.ref)
	for _, size := range sizes {
		f.cps[size] = sign(t, f.key, f.ref.tree(t, size))
	}
	return f
}

// serve returns the entries of tree m: leaves and their stored hashes.
func (f *fixture) serve(m *memTree) []translog.Entry {
	es := make([]translog.Entry, len(m.leaves))
	for i, leaf := range m.leaves {
		h := m.leafHash(int64(i))
		es[i] = translog.Entry{Index: int64(i), Leaf: leaf, Hash: &h}
	}
	return es
}

// leaf returns leaf i re-encoded with another payload.
func (f *fixture) leaf(i int, p string) []byte {
	return translog.EncodeLeaf(translog.KindSignature, []byte(p), f.at[i])
}

func (f *fixture) options(t testing.TB, main int64, older ...int64) translog.VerifyOptions {
	opts := translog.VerifyOptions{Origin: testOrigin, Verifiers: f.key.verifiers(t), Checkpoint: f.cps[main]}
	for _, size := range older {
		opts.Older = append(opts.Older, f.cps[size])
	}
	return opts
}

func seq(es []translog.Entry) iter.Seq2[translog.Entry, error] {
	return func(yield func(translog.Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// problems formats the kinds and ranges of ps, for comparison.
func problems(ps []translog.Problem) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s [%d,%d)", p.Kind, p.Index, p.End))
	}
	return strings.Join(parts, "; ")
}

func want(ps ...translog.Problem) string { return problems(ps) }

func p(kind translog.ProblemKind, index, end int64) translog.Problem {
	return translog.Problem{Kind: kind, Index: index, End: end}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureSize, 10, 20, 30, 40)
	other := newMemSigner("not the ledger key")
	tests := []struct {
		name   string
		mutate func(es []translog.Entry) []translog.Entry
		opts   func() translog.VerifyOptions
		want   string
	}{
		{
			name: "intact",
			want: "",
		},
		{
			name:   "leaf 5 modified",
			mutate: func(es []translog.Entry) []translog.Entry { es[5].Leaf = f.leaf(5, "forged"); return es },
			want:   want(p(translog.ProblemModified, 5, 6)),
		},
		{
			name: "payloads of 3 and 9 swapped",
			mutate: func(es []translog.Entry) []translog.Entry {
				es[3].Leaf, es[9].Leaf = f.leaf(3, string(payload(9))), f.leaf(9, string(payload(3)))
				return es
			},
			want: want(p(translog.ProblemModified, 3, 4), p(translog.ProblemModified, 9, 10)),
		},
		{
			name:   "row 7 deleted",
			mutate: func(es []translog.Entry) []translog.Entry { es[7].Leaf = nil; return es },
			want:   want(p(translog.ProblemMissing, 7, 8)),
		},
		{
			name:   "row 7 and its stored hash deleted",
			mutate: func(es []translog.Entry) []translog.Entry { return slices.Delete(es, 7, 8) },
			want:   want(p(translog.ProblemMissing, 7, 8)),
		},
		{
			name: "row 5 deleted and the rest renumbered",
			mutate: func(es []translog.Entry) []translog.Entry {
				for i := 5; i < len(es)-1; i++ {
					es[i].Leaf = es[i+1].Leaf
				}
				es[len(es)-1].Leaf = nil
				return es
			},
			want: want(p(translog.ProblemModified, 5, 39), p(translog.ProblemMissing, 39, 40)),
		},
		{
			name: "forged row inserted past the signed tree",
			mutate: func(es []translog.Entry) []translog.Entry {
				return append(es, translog.Entry{Index: 40, Leaf: f.leaf(0, "forged")})
			},
			want: want(p(translog.ProblemExtra, 40, 41)),
		},
		{
			name: "index served twice",
			mutate: func(es []translog.Entry) []translog.Entry {
				return slices.Insert(es, 13, es[12])
			},
			want: want(p(translog.ProblemDuplicate, 12, 13)),
		},
		{
			name:   "log ends early",
			mutate: func(es []translog.Entry) []translog.Entry { return es[:35] },
			want:   want(p(translog.ProblemMissing, 35, 40)),
		},
		{
			name:   "leaf 4 is not a leaf",
			mutate: func(es []translog.Entry) []translog.Entry { es[4].Leaf = []byte("garbage"); return es },
			want:   want(p(translog.ProblemMalformed, 4, 5), p(translog.ProblemModified, 4, 5)),
		},
		{
			name: "leaf 4 of an unknown kind",
			mutate: func(es []translog.Entry) []translog.Entry {
				es[4].Leaf = translog.EncodeLeaf("forged", payload(4), f.at[4])
				return es
			},
			want: want(p(translog.ProblemMalformed, 4, 5), p(translog.ProblemModified, 4, 5)),
		},
		{
			name: "leaf 6 backdated",
			mutate: func(es []translog.Entry) []translog.Entry {
				es[6].Leaf = translog.EncodeLeaf(translog.KindSignature, payload(6), f.at[0].Add(-time.Hour))
				return es
			},
			want: want(p(translog.ProblemModified, 6, 7)),
		},
		{
			name: "stored hashes not served: leaf 15 modified",
			mutate: func(es []translog.Entry) []translog.Entry {
				for i := range es {
					es[i].Hash = nil
				}
				es[15].Leaf = f.leaf(15, "forged")
				return es
			},
			want: want(p(translog.ProblemRange, 10, 20)),
		},
		{
			name: "stored hashes not served, no older checkpoints",
			mutate: func(es []translog.Entry) []translog.Entry {
				for i := range es {
					es[i].Hash = nil
				}
				es[15].Leaf = f.leaf(15, "forged")
				return es
			},
			opts: func() translog.VerifyOptions { return f.options(t, 40) },
			want: want(p(translog.ProblemRange, 0, 40)),
		},
		{
			name: "leaf 15 modified and the stored tree rewritten to match",
			mutate: func(es []translog.Entry) []translog.Entry {
				var m memTree
				for i, e := range es {
					leaf := e.Leaf
					if i == 15 {
						leaf = f.leaf(15, "forged")
					}
					m.add(t, leaf)
				}
				return f.serve(&m)
			},
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemRange, 10, 20)),
		},
		{
			name: "only stored hash 12 changed",
			mutate: func(es []translog.Entry) []translog.Entry {
				h := tlog.RecordHash([]byte("forged"))
				es[12].Hash = &h
				return es
			},
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemHashes, 12, 13)),
		},
		{
			// Once stored hash 12 has split the trees, stored hash 15 still
			// stands in for the missing leaf: the leaves prove out, so only
			// hash 12 is wrong (not a leaf/hash mismatch at 12).
			name: "only stored hash 12 changed, and leaf 15 deleted",
			mutate: func(es []translog.Entry) []translog.Entry {
				h := tlog.RecordHash([]byte("forged"))
				es[12].Hash = &h
				es[15].Leaf = nil
				return es
			},
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemHashes, 12, 13), p(translog.ProblemMissing, 15, 16)),
		},
		{
			name: "stored hashes not served, and leaf 7 deleted",
			mutate: func(es []translog.Entry) []translog.Entry {
				for i := range es {
					es[i].Hash = nil
				}
				es[7].Leaf = nil
				return es
			},
			want: want(p(translog.ProblemMissing, 7, 8)),
		},
		{
			name: "leaf 15 and its stored hash changed, nothing above",
			mutate: func(es []translog.Entry) []translog.Entry {
				es[15].Leaf = f.leaf(15, "forged")
				h := tlog.RecordHash(es[15].Leaf)
				es[15].Hash = &h
				return es
			},
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemRange, 10, 20)),
		},
		{
			name: "older checkpoint from another history (fork)",
			opts: func() translog.VerifyOptions {
				o := f.options(t, 40, 10, 30)
				forked := f.ref.tree(t, 20)
				forked.Hash[0] ^= 1
				o.Older = append(o.Older, sign(t, f.key, forked))
				return o
			},
			want: want(p(translog.ProblemHashes, 10, 20), p(translog.ProblemRange, 10, 20), p(translog.ProblemFork, 20, 30)),
		},
		{
			name: "two signed roots for size 40",
			opts: func() translog.VerifyOptions {
				o := f.options(t, 40)
				forked := f.ref.tree(t, 40)
				forked.Hash[0] ^= 1
				o.Older = append(o.Older, sign(t, f.key, forked))
				return o
			},
			// The main checkpoint is the one checked; the other is reported.
			want: want(p(translog.ProblemFork, 40, 40)),
		},
		{
			name: "checkpoint signed by another key",
			opts: func() translog.VerifyOptions {
				o := f.options(t, 40)
				o.Checkpoint = sign(t, other, f.ref.tree(t, 40))
				return o
			},
			want: want(p(translog.ProblemCheckpoint, -1, -1)),
		},
		{
			name: "an older checkpoint signed by another key",
			opts: func() translog.VerifyOptions {
				o := f.options(t, 40, 20)
				o.Older = append(o.Older, sign(t, other, f.ref.tree(t, 10)))
				return o
			},
			want: want(p(translog.ProblemCheckpoint, -1, -1)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := slices.Clone(f.entries)
			if tt.mutate != nil {
				es = tt.mutate(es)
			}
			opts := f.options(t, 40, 10, 20, 30)
			if tt.opts != nil {
				opts = tt.opts()
			}
			rep := translog.Verify(seq(es), opts)
			if got := problems(rep.Problems); got != tt.want {
				t.Errorf("problems:\n got %s\nwant %s", got, tt.want)
				for _, p := range rep.Problems {
					t.Log(p)
				}
			}
			if rep.OK() != (tt.want == "") {
				t.Errorf("OK = %v with problems %q", rep.OK(), tt.want)
			}
		})
	}
}

func TestVerifyReadError(t *testing.T) {
	f := newFixture(t, 20, 20)
	entries := func(yield func(translog.Entry, error) bool) {
		for _, e := range f.entries[:10] {
			if !yield(e, nil) {
				return
			}
		}
		yield(translog.Entry{}, fmt.Errorf("connection reset"))
	}
	rep := translog.Verify(entries, f.options(t, 20))
	if rep.Err == nil || rep.OK() || rep.Entries != 10 {
		t.Errorf("Verify over a failing stream: Err %v, OK %v, %d entries", rep.Err, rep.OK(), rep.Entries)
	}
}

// TestVerifyMaxProblems: the report holds at most MaxProblems problems, the
// first found, and says when it left some out; a run of indexes is one
// problem however it is found.
func TestVerifyMaxProblems(t *testing.T) {
	f := newFixture(t, fixtureSize, 10, 20, 30, 40)
	tests := []struct {
		name      string
		max       int
		mutate    func(es []translog.Entry) []translog.Entry
		want      string
		truncated bool
	}{
		{
			name: "10 separate problems",
			max:  4,
			mutate: func(es []translog.Entry) []translog.Entry {
				for i := 0; i < 20; i += 2 {
					es[i].Leaf = nil
				}
				return es
			},
			want:      want(p(translog.ProblemMissing, 0, 1), p(translog.ProblemMissing, 2, 3), p(translog.ProblemMissing, 4, 5), p(translog.ProblemMissing, 6, 7)),
			truncated: true,
		},
		{
			name:   "leaves 5 and 6 deleted: one problem",
			max:    1,
			mutate: func(es []translog.Entry) []translog.Entry { es[5].Leaf, es[6].Leaf = nil, nil; return es },
			want:   want(p(translog.ProblemMissing, 5, 7)),
		},
		{
			name: "leaves 5 and 6 modified: one problem",
			max:  1,
			mutate: func(es []translog.Entry) []translog.Entry {
				es[5].Leaf, es[6].Leaf = f.leaf(5, "forged"), f.leaf(6, "forged")
				return es
			},
			want: want(p(translog.ProblemModified, 5, 7)),
		},
		{
			// The skipped rows end at checkpoint 10; the mismatch at 15 is
			// found at checkpoint 20, before leaf 22 is read, so it is kept.
			name: "rows 8 and 9 gone, leaf 15 modified, leaf 22 deleted",
			max:  2,
			mutate: func(es []translog.Entry) []translog.Entry {
				es[15].Leaf = f.leaf(15, "forged")
				es[22].Leaf = nil
				return slices.Delete(es, 8, 10)
			},
			// Without stored hashes proven past 8, 15 is a mismatch.
			want:      want(p(translog.ProblemMissing, 8, 10), p(translog.ProblemMismatch, 15, 16)),
			truncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := f.options(t, 40, 10, 20, 30)
			opts.MaxProblems = tt.max
			rep := translog.Verify(seq(tt.mutate(slices.Clone(f.entries))), opts)
			if got := problems(rep.Problems); got != tt.want || rep.Truncated != tt.truncated || rep.OK() {
				t.Errorf("problems %s, truncated %v; want %s, %v", got, rep.Truncated, tt.want, tt.truncated)
			}
		})
	}
}

// TestVerifyEmptyTree: the checkpoint of the empty tree verifies an empty
// log, and any entry served beside it is extra.
func TestVerifyEmptyTree(t *testing.T) {
	f := newFixture(t, 3)
	empty := sign(t, f.key, f.ref.tree(t, 0))
	opts := translog.VerifyOptions{Origin: testOrigin, Verifiers: f.key.verifiers(t), Checkpoint: empty}
	if rep := translog.Verify(seq(nil), opts); !rep.OK() || rep.Tree.N != 0 || rep.Entries != 0 {
		t.Errorf("Verify of the empty log = %+v; want OK at size 0", rep)
	}
	rep := translog.Verify(seq(f.entries[:1]), opts)
	if got := problems(rep.Problems); got != want(p(translog.ProblemExtra, 0, 1)) {
		t.Errorf("problems %s; want leaf 0 extra", got)
	}
}

// TestVerifyNamesTheBadOlderCheckpoint: a problem with an older checkpoint
// says which one (counting from 1, in the order given).
func TestVerifyNamesTheBadOlderCheckpoint(t *testing.T) {
	f := newFixture(t, 20, 10, 20)
	opts := f.options(t, 20, 10)
	opts.Older = append(opts.Older, []byte("not a note"))
	rep := translog.Verify(seq(f.entries), opts)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != translog.ProblemCheckpoint || !strings.HasPrefix(rep.Problems[0].Detail, "older checkpoint #2: ") {
		t.Errorf("problems %+v; want one checkpoint problem naming older checkpoint #2", rep.Problems)
	}
}
