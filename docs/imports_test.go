package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
)

const module = "github.com/exitlane/exitlane"

// listed is one package as go list reports it; Path is relative to the
// module ("lane", "payby/sandbox"), "main" for the module's root.
type listed struct {
	Path    string
	Dir     string
	GoFiles []string
	Imports []string // project imports relative, others as they are
	Deps    []string // the same, transitive
}

// goList lists the module's packages (test files left out).
func goList(t *testing.T) []listed {
	t.Helper()
	listOnce.Do(func() { listedPkgs, listErr = listModule(t) })
	if listErr != nil {
		t.Fatal(listErr)
	}
	return listedPkgs
}

// go list runs once for the package's tests.
var (
	listOnce   sync.Once
	listedPkgs []listed
	listErr    error
)

// listModule runs go list over the module (with a deadline: proctest).
func listModule(t *testing.T) ([]listed, error) {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".."
	out, err := proctest.Output(t, cmd, 5*time.Minute)
	if err != nil {
		return nil, fmt.Errorf("go list: %v", err)
	}
	var pkgs []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath, Dir string
			GoFiles         []string
			Imports, Deps   []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		pkgs = append(pkgs, listed{Path: rel(p.ImportPath), Dir: p.Dir, GoFiles: p.GoFiles, Imports: rels(p.Imports), Deps: rels(p.Deps)})
	}
	if len(pkgs) < 10 {
		return nil, fmt.Errorf("go list found %d packages: is it run in the module?", len(pkgs))
	}
	return pkgs, nil
}

func rel(path string) string {
	if path == module {
		return "main"
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return path
}

func rels(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = rel(p)
	}
	return out
}

// The import rules of DESIGN.md's package map and boundaries
// (docs/architecture.md lists them in words).
var (
	// onlyImports: the project packages each of these may import.
	onlyImports = map[string][]string{
		"money":         {},
		"assets":        {},
		"serialport":    {},
		"ticket":        {"money"},
		"lane":          {"money"},
		"barrier":       {"serialport"},
		"ui":            {"lane", "money", "assets"},
		"payby":         {"money", "payby/internal/wire"},
		"payby/sandbox": {"payby", "money", "payby/internal/wire"},
		"ledger":        {"lane", "money"},
		"sitestore":     {"lane", "money"},
	}
	// neverImports: project packages these must not import.
	neverImports = map[string][]string{
		"station": {"ui", "sim", "assets", "payby/sandbox", "main"},
	}
	// onlyImporters: the packages that may import a module (or any
	// package under it) themselves.
	onlyImporters = map[string][]string{
		"go.bug.st/serial":            {"serialport"},
		"github.com/mattn/go-sqlite3": {"ledger"},
		"github.com/jackc/pgx/v5":     {"sitestore", "internal/pgcluster"},
		"fyne.io/fyne/v2":             {"ui", "main"},
	}
	// onlyDependents: the packages that may depend on a module at all,
	// through any chain of imports.
	onlyDependents = map[string][]string{
		"fyne.io/fyne/v2": {"ui", "sim", "sim/simtest", "main"},
	}
)

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// checkImports returns one line per broken rule.
func checkImports(pkgs []listed) []string {
	project := map[string]bool{}
	for _, p := range pkgs {
		project[p.Path] = true
	}
	var problems []string
	for _, p := range pkgs {
		if allowed, ok := onlyImports[p.Path]; ok {
			for _, imp := range p.Imports {
				if project[imp] && !slices.Contains(allowed, imp) {
					problems = append(problems, fmt.Sprintf("%s imports %s (it may import only %v of the project)", p.Path, imp, allowed))
				}
			}
		}
		for _, imp := range p.Imports {
			if slices.Contains(neverImports[p.Path], imp) {
				problems = append(problems, fmt.Sprintf("%s imports %s", p.Path, imp))
			}
			for mod, who := range onlyImporters {
				if under(imp, mod) && !slices.Contains(who, p.Path) {
					problems = append(problems, fmt.Sprintf("%s imports %s (only %v may)", p.Path, imp, who))
				}
			}
		}
		for mod, who := range onlyDependents {
			if slices.Contains(who, p.Path) {
				continue
			}
			for _, dep := range p.Deps {
				if under(dep, mod) {
					problems = append(problems, fmt.Sprintf("%s depends on %s (only %v may)", p.Path, mod, who))
					break
				}
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// checkMainVars returns one line per package-level variable of package
// main's files (name to source) that is not an error sentinel: a name
// starting with err or Err, set with errors.New.
func checkMainVars(files map[string]string) ([]string, error) {
	var problems []string
	fset := token.NewFileSet()
	for name, src := range files {
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					sentinel := (strings.HasPrefix(id.Name, "err") || strings.HasPrefix(id.Name, "Err")) &&
						i < len(vs.Values) && isErrorsNew(vs.Values[i])
					if !sentinel {
						problems = append(problems, fmt.Sprintf("%s: package main declares var %s: only error sentinels (errors.New) may be package-level", fset.Position(id.Pos()), id.Name))
					}
				}
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}

func isErrorsNew(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "errors" && sel.Sel.Name == "New"
}

func TestImportRules(t *testing.T) {
	pkgs := goList(t)
	for _, p := range checkImports(pkgs) {
		t.Error(p)
	}
	for _, p := range pkgs {
		if p.Path != "main" {
			continue
		}
		files := map[string]string{}
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			files[f] = string(b)
		}
		if len(files) == 0 {
			t.Fatal("package main has no files")
		}
		problems, err := checkMainVars(files)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
		return
	}
	t.Fatal("go list did not report package main")
}

// TestImportRulesFindBreaks runs the checks on a made-up tree that breaks
// each kind of rule once.
func TestImportRulesFindBreaks(t *testing.T) {
	pkgs := []listed{
		{Path: "money"},
		{Path: "ticket", Imports: []string{"money", "strings"}},
		{Path: "lane", Imports: []string{"money", "ticket"}},
		{Path: "ledger", Imports: []string{"lane", "money", "station", "github.com/mattn/go-sqlite3"}},
		{Path: "serialport", Imports: []string{"go.bug.st/serial"}},
		{Path: "barrier", Imports: []string{"serialport", "go.bug.st/serial/enumerator"}},
		{Path: "ui", Imports: []string{"lane", "fyne.io/fyne/v2/widget"}, Deps: []string{"fyne.io/fyne/v2"}},
		{Path: "station", Imports: []string{"lane", "ledger", "ui"}, Deps: []string{"fyne.io/fyne/v2", "lane"}},
		{Path: "sim", Imports: []string{"station", "ui"}, Deps: []string{"fyne.io/fyne/v2"}},
		{Path: "main", Imports: []string{"station", "fyne.io/fyne/v2/app"}, Deps: []string{"fyne.io/fyne/v2"}},
	}
	got := checkImports(pkgs)
	want := []string{
		"barrier imports go.bug.st/serial/enumerator",
		"ledger imports station",
		"lane imports ticket",
		"station depends on fyne.io/fyne/v2",
		"station imports ui",
	}
	if len(got) != len(want) {
		t.Fatalf("problems %q, want one for each of %q", got, want)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem says %q; got %q", w, got)
		}
	}

	vars, err := checkMainVars(map[string]string{"main.go": `package main

import ("errors"; "fmt")

var errNoDisplay = errors.New("no display")
var badgeFilter func(string) bool
var (
	ErrUsage = errors.New("usage")
	errWrapped = fmt.Errorf("x: %w", ErrUsage)
	displayRun = func() {}
)
`})
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 3 {
		t.Fatalf("main vars: %q, want one problem for each of badgeFilter, errWrapped and displayRun", vars)
	}
	for _, name := range []string{"badgeFilter", "errWrapped", "displayRun"} {
		if !slices.ContainsFunc(vars, func(p string) bool { return strings.Contains(p, "var "+name+":") }) {
			t.Errorf("no problem names %s; got %q", name, vars)
		}
	}
}

var (
	mermaidNode = regexp.MustCompile(`^\s*(\w+)\["([^"]+)"\]\s*$`)
	mermaidEdge = regexp.MustCompile(`^\s*(\w+)\s*-->\s*(\w+)\s*$`)
)

// TestArchitectureGraph checks that the graph in architecture.md has one
// node per package and exactly the imports go list reports between them.
func TestArchitectureGraph(t *testing.T) {
	b, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "```mermaid\n")
	if !ok {
		t.Fatal("architecture.md has no mermaid block")
	}
	block, _, _ = strings.Cut(block, "```")
	nodes := map[string]string{} // id to package
	drawn := map[string]bool{}   // "from -> to"
	for _, line := range strings.Split(block, "\n") {
		if m := mermaidNode.FindStringSubmatch(line); m != nil {
			nodes[m[1]] = strings.Fields(m[2])[0]
		}
	}
	for _, line := range strings.Split(block, "\n") {
		if m := mermaidEdge.FindStringSubmatch(line); m != nil {
			from, to := nodes[m[1]], nodes[m[2]]
			if from == "" || to == "" {
				t.Errorf("edge %q uses an undeclared node", strings.TrimSpace(line))
				continue
			}
			drawn[from+" -> "+to] = true
		}
	}

	pkgs := goList(t)
	project := map[string]bool{}
	for _, p := range pkgs {
		if len(p.GoFiles) > 0 {
			project[p.Path] = true
		}
	}
	declared := map[string]bool{}
	for _, p := range nodes {
		declared[p] = true
		if !project[p] {
			t.Errorf("architecture.md draws %s, which go list does not report", p)
		}
	}
	real := map[string]bool{}
	for _, p := range pkgs {
		if !project[p.Path] {
			continue
		}
		if !declared[p.Path] {
			t.Errorf("architecture.md does not draw package %s", p.Path)
		}
		for _, imp := range p.Imports {
			if project[imp] {
				real[p.Path+" -> "+imp] = true
			}
		}
	}
	for e := range real {
		if !drawn[e] {
			t.Errorf("architecture.md lacks the import %s", e)
		}
	}
	for e := range drawn {
		if !real[e] {
			t.Errorf("architecture.md draws the import %s, which the code does not have", e)
		}
	}
}
