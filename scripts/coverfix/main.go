// Command coverfix completes a Go coverage profile for mutation testing
// (scripts/mutate.sh), where gremlins only runs the mutants that a block
// of the profile covers. Go's cover tool counts statements, and two kinds
// of code hold mutable operators outside every block:
//
//   - the case expressions of a switch (the clause's block starts after its
//     colon), so gremlins reads every mutant in `case a < b:` as NOT COVERED
//     (go-gremlins/gremlins#298). coverfix adds a block for each case clause
//     whose body ran, with the body's count: that clause's expressions were
//     evaluated. A clause whose body never ran stays uncovered (conservative:
//     its expression may have been evaluated and been false).
//   - package-level constant and variable declarations (limits such as
//     `maxSize = 1 << 20`), which are compiled into, or initialised before,
//     every use. coverfix covers them when any code of their package ran.
//
// Usage, from the module root: coverfix PROFILE (rewritten in place).
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: coverfix PROFILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "coverfix:", err)
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
	local := func(name string) (string, error) {
		rel, ok := strings.CutPrefix(name, module+"/")
		if !ok {
			return "", fmt.Errorf("%s is not in module %s", name, module)
		}
		return filepath.FromSlash(rel), nil
	}
	extra, err := extraBlocks(data, func(name string) ([]byte, error) {
		path, err := local(name)
		if err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}, func(pkg string) ([]string, error) {
		dir, err := local(pkg + "/x.go")
		if err != nil {
			return nil, err
		}
		files, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "*.go"))
		var names []string
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				names = append(names, pkg+"/"+filepath.Base(f))
			}
		}
		return names, err
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

// extraBlocks returns the profile lines to add to profile: a block from
// each case clause's start to its colon with the count of the clause's
// body, and a block over each package-level const and var declaration,
// counted 1 when any block of its package ran. read returns a file's
// source; files lists a package's non-test files (import path + "/" + name).
func extraBlocks(profile []byte, read func(name string) ([]byte, error), files func(pkg string) ([]string, error)) ([]byte, error) {
	// file -> "line.col" where a block starts -> count
	starts := map[string]map[string]int{}
	ran := map[string]bool{} // package import path -> some block ran
	var pkgs []string
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
		}
		key := fmt.Sprintf("%d.%d", b.startLine, b.startCol)
		starts[name][key] = max(starts[name][key], b.count)
		pkg := path.Dir(name)
		if _, seen := ran[pkg]; !seen {
			pkgs = append(pkgs, pkg)
		}
		ran[pkg] = ran[pkg] || b.count > 0
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, pkg := range pkgs {
		names, err := files(pkg)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			src, err := read(name)
			if err != nil {
				return nil, err
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				return nil, err
			}
			add := func(from, to token.Pos, count int) {
				a, b := fset.Position(from), fset.Position(to)
				fmt.Fprintf(&out, "%s:%d.%d,%d.%d 0 %d\n", name, a.Line, a.Column, b.Line, b.Column, count)
			}
			for _, d := range f.Decls {
				if gd, ok := d.(*ast.GenDecl); ok && (gd.Tok == token.CONST || gd.Tok == token.VAR) && ran[pkg] {
					add(gd.Pos(), gd.End(), 1)
				}
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
					if count, ok := starts[name][fmt.Sprintf("%d.%d", body.Line, body.Column)]; ok {
						add(cc.Case, cc.Colon, count)
					} // else an empty body: no block to borrow from
				}
				return true
			})
		}
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
