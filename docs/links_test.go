// Package docs holds the project's documentation. Its test checks that
// every relative link in README.md and docs/*.md resolves to a file or
// directory in the repository, and every #anchor to a heading.
package docs

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestLinksResolve(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	checked := 0
	for _, f := range files {
		for _, problem := range checkFile(root, f, &checked) {
			t.Error(problem)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d links checked: is the link pattern still right?", checked)
	}
}

// TestCheckFindsBrokenLinks runs the checker on a small tree with one good
// and several bad links of each kind.
func TestCheckFindsBrokenLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/b.md", "# B title\n\n## 2. Second part\n")
	write("docs/a.md", "# A\n"+
		"[ok](b.md) [ok](b.md#2-second-part) [ok](#a) [ok](https://example.com/x.md) ![ok](b.md \"t\")\n"+
		"[gone](missing.md) [anchor](b.md#nope) ![img](pic.png) [self](#none)\n"+
		"[out](../../outside.md)\n"+
		"`[code](notalink.md)`\n"+
		"```\n[fenced](notalink.md)\n```\n"+
		"[ref]: ../nowhere/file.md\n")
	checked := 0
	problems := checkFile(root, filepath.Join(root, "docs", "a.md"), &checked)
	want := []string{"missing.md", "b.md#nope", "pic.png", "#none", "../../outside.md", "../nowhere/file.md"}
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want one for each of %q", problems, want)
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d: %q, want it to name %q", i, problems[i], w)
		}
	}
}

var (
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+(\S+)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// checkFile returns one line per link in the markdown file f that does not
// resolve inside root, counting the links it checked in *checked.
func checkFile(root, f string, checked *int) []string {
	text, err := os.ReadFile(f)
	if err != nil {
		return []string{err.Error()}
	}
	rel, _ := filepath.Rel(root, f)
	var problems []string
	fenced := false
	for n, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			targets = append(targets, m[1])
		}
		if m := refLink.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if scheme.MatchString(target) {
				continue
			}
			*checked++
			if why := resolve(root, f, target); why != "" {
				problems = append(problems, rel+":"+strconv.Itoa(n+1)+": link "+target+": "+why)
			}
		}
	}
	return problems
}

// resolve returns why target, linked from file f, does not resolve, or "".
func resolve(root, f, target string) string {
	path, anchor, _ := strings.Cut(target, "#")
	path, err := url.PathUnescape(path)
	if err != nil {
		return "bad escape"
	}
	dest := f
	if path != "" {
		dest = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
		if r, err := filepath.Rel(root, dest); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "outside the repository"
		}
		if _, err := os.Stat(dest); err != nil {
			return "no such file in the repository"
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(dest, ".md") {
		return "anchor into a file that is not markdown"
	}
	text, err := os.ReadFile(dest)
	if err != nil {
		return err.Error()
	}
	if !headingAnchors(string(text))[anchor] {
		return "no heading with anchor #" + anchor
	}
	return ""
}

// headingAnchors returns the anchors GitHub makes for the headings of a
// markdown text: lower case, punctuation dropped, spaces to hyphens, and
// -1, -2, ... appended to repeats.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if k := seen[a]; k > 0 {
			anchors[a+"-"+strconv.Itoa(k)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}
