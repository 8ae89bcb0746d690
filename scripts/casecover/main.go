// Command casecover completes a Go coverage profile for mutation testing
// (scripts/mutate.sh): it adds, for every case clause of an expression
// switch whose body ran, a block covering the clause's case expressions.
//
// Go's cover tool counts statements, and a case expression is not inside
// any counted block (the clause's block starts after its colon), so
// gremlins reads every mutant in `case a < b:` as NOT COVERED and never
// runs it (go-gremlins/gremlins#298). A clause whose body ran had its
// expressions evaluated, so giving them the body's count is exact for
// "was reached"; a clause whose body never ran stays uncovered, which is
// conservative (its expression may have been evaluated and been false).
//
// Usage, from the module root: casecover PROFILE (rewritten in place).
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: casecover PROFILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "casecover:", err)
		os.Exit(1)
	}
}

func run(profile string) error {
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		return err
	}
	module := modfile.ModulePath(gomod)
	if module == "" {
		return fmt.Errorf("go.mod names no module")
	}
	data, err := os.ReadFile(profile)
	if err != nil {
		return err
	}
	extra, err := caseBlocks(data, func(name string) ([]byte, error) {
		rel, ok := strings.CutPrefix(name, module+"/")
		if !ok {
			return nil, fmt.Errorf("%s is not in module %s", name, module)
		}
		return os.ReadFile(filepath.FromSlash(rel))
	})
	if err != nil {
		return err
	}
	return os.WriteFile(profile, append(data, extra...), 0o644)
}

// block is one line of a coverage profile.
type block struct {
	startLine, startCol int
	count               int
}

// caseBlocks returns the profile lines to add to profile: for each case
// clause whose body block has a count, a block from the clause's start to
// its colon with that count. read returns a profile file's source.
func caseBlocks(profile []byte, read func(name string) ([]byte, error)) ([]byte, error) {
	// file -> "line.col" where a block starts -> count
	starts := map[string]map[string]int{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(profile))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "mode:") {
			continue
		}
		name, b, err := parseLine(line)
		if err != nil {
			return nil, err
		}
		if starts[name] == nil {
			starts[name] = map[string]int{}
			order = append(order, name)
		}
		key := fmt.Sprintf("%d.%d", b.startLine, b.startCol)
		starts[name][key] = max(starts[name][key], b.count)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, name := range order {
		src, err := read(name)
		if err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			for _, s := range sw.Body.List {
				cc := s.(*ast.CaseClause)
				if cc.List == nil { // default: no expression
					continue
				}
				body := fset.Position(cc.Colon + 1)
				count, ok := starts[name][fmt.Sprintf("%d.%d", body.Line, body.Column)]
				if !ok {
					continue // empty body: no block to borrow from
				}
				from, to := fset.Position(cc.Case), fset.Position(cc.Colon)
				fmt.Fprintf(&out, "%s:%d.%d,%d.%d 0 %d\n", name, from.Line, from.Column, to.Line, to.Column, count)
			}
			return true
		})
	}
	return out.Bytes(), nil
}

// parseLine parses "name:sl.sc,el.ec stmts count".
func parseLine(line string) (string, block, error) {
	bad := fmt.Errorf("bad profile line %q", line)
	i := strings.LastIndex(line, ":")
	if i < 0 {
		return "", block{}, bad
	}
	fields := strings.Fields(line[i+1:])
	if len(fields) != 3 {
		return "", block{}, bad
	}
	start, _, ok := strings.Cut(fields[0], ",")
	sl, sc, ok2 := strings.Cut(start, ".")
	var b block
	var errs [3]error
	b.startLine, errs[0] = strconv.Atoi(sl)
	b.startCol, errs[1] = strconv.Atoi(sc)
	b.count, errs[2] = strconv.Atoi(fields[2])
	if !ok || !ok2 || errs[0] != nil || errs[1] != nil || errs[2] != nil {
		return "", block{}, bad
	}
	return line[:i], b, nil
}
