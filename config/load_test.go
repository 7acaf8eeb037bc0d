package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
)

// lay copies the example config into a fresh directory with its key files.
func lay(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "payby"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "ticket.key"), []byte("00112233445566778899aabbccddeeff\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "payby/merchant_private.pem"), []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "payby/payby.pub"), []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644))
	path := filepath.Join(dir, "exitlane.toml")
	must(os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestExampleLoads(t *testing.T) {
	path := lay(t, nil)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if c.Site.ID != "GRG01" || c.Site.Location.String() != "Asia/Dubai" {
		t.Errorf("site %+v", c.Site)
	}
	if len(c.Ticket.Key) != 16 {
		t.Errorf("ticket key %d bytes", len(c.Ticket.Key))
	}
	if c.Ledger.Path != filepath.Join(dir, "exitlane.db") || c.PayBy.PrivateKeyFile != filepath.Join(dir, "payby/merchant_private.pem") {
		t.Errorf("paths not resolved: %s %s", c.Ledger.Path, c.PayBy.PrivateKeyFile)
	}
	if c.Tariff.LostFee != money.AED(150) || c.Tariff.Location != c.Site.Location {
		t.Errorf("tariff %+v", c.Tariff)
	}
	if c.PayBy.PollInterval != 2*time.Second || c.Relay.Pulse != 500*time.Millisecond {
		t.Errorf("durations %s %s", c.PayBy.PollInterval, c.Relay.Pulse)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	path := lay(t, func(s string) string {
		r := strings.NewReplacer(
			`id = "GRG01"`, `id = "grg-01"`,
			`timezone = "Asia/Dubai"`, `timezone = "Mars/Olympus"`,
			`poll_interval = "2s"`, `poll_interval = "10s"`,
			`pulse = "500ms"`, `pulse = "5s"`,
			`board = "lcus"`, `board = "acme"`,
			`baud = 9600`+"\n"+`parity`, `bauds = 9600`+"\n"+`parity`,
			`lost_fee = "150.00"`, `lost_fee = "150.005"`,
		)
		return r.Replace(s)
	})
	_, err := Load(path)
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not *Problems", err)
	}
	msg := err.Error()
	for _, want := range []string{
		path + ": site.id:",
		"site.timezone:",
		"payby.poll_interval:",
		"relay.pulse:",
		"relay.board:",
		"scanner.bauds: unknown key",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestAmountErrorsNameTheKey(t *testing.T) {
	path := lay(t, func(s string) string {
		return strings.Replace(s, `lost_fee = "150.00"`, `lost_fee = "150.005"`, 1)
	})
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "lost_fee") || !strings.Contains(err.Error(), "two decimal") {
		t.Fatalf("got %v", err)
	}
}

func TestKeyFileModes(t *testing.T) {
	path := lay(t, nil)
	dir := filepath.Dir(path)
	if err := os.Chmod(filepath.Join(dir, "ticket.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "payby/merchant_private.pem"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("world-readable key accepted")
	}
	for _, want := range []string{"ticket.key_file:", "mode 0644", "payby.private_key_file:", "mode 0640"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "00112233") {
		t.Error("error shows the key")
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// A section implied only by its array of tables is still decoded.
func TestImpliedSection(t *testing.T) {
	path := lay(t, func(s string) string {
		s = strings.Replace(s, "[admin]\n", "[adminx]\n", 1)
		s = strings.Replace(s, "\nlockout_attempts = 5", "\n#lockout_attempts = 5", 1)
		i := strings.Index(s, "[adminx]")
		j := strings.Index(s, "[log]")
		s = s[:i] + s[j:]
		return s + `
[[admin.attendants]]
id = "A01"
name = "Sara"
pin_hash = "$2a$10$abcdefghijklmnopqrstuuJ1C8u6hQ0JQ9g3g0m1mC3N2pQmKXoWy"
badge = "STAFF-A01"
`
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Admin.Attendants) != 1 || c.Admin.Attendants[0].Badge != "STAFF-A01" || c.Admin.LockoutAttempts != 5 {
		t.Fatalf("admin %+v", c.Admin)
	}
}

// mustProblems loads path and returns the problems' text, failing the test
// when the file loads.
func mustProblems(t *testing.T, path string, opts ...Option) string {
	t.Helper()
	_, err := Load(path, opts...)
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("loaded, or not *Problems: %v", err)
	}
	return err.Error()
}

// A duration written as a bare number is refused, naming the file and key:
// TOML would read grace = 15 as 15 nanoseconds.
func TestBareNumberDurations(t *testing.T) {
	cases := []struct{ from, to, want string }{
		{`grace = "15m"`, `grace = 15`, `tariff.grace: 15 is a bare number`},
		{`pulse = "500ms"`, `pulse = 500`, `relay.pulse: 500 is a bare number`},
		{`clock_tolerance = "2m"`, `clock_tolerance = 0`, `ticket.clock_tolerance: 0 is a bare number`},
		{`first_period = "1h"`, `first_period = 3600`, `tariff.tables[0].first_period: 3600 is a bare number`},
		{`time = "2h"`, `time = 7200`, `tariff.validations[0].time: 7200 is a bare number`},
		{`increment = "1h"`, `increment = "1h"` + "\nfree = 600", `tariff.tables[0].free: 600 is a bare number`},
		{`cap = "50.00"`, `slabs = [ { up_to = "1h", price = "10.00" }, { up_to = 86400, price = "50.00" } ]`,
			`tariff.tables[0].slabs[1].up_to: 86400 is a bare number`},
		{`grace = "15m"`, `grace = 1.5`, `"tariff.grace"`},
	}
	for _, c := range cases {
		path := lay(t, func(s string) string {
			if !strings.Contains(s, c.from) {
				t.Fatalf("example has no %q", c.from)
			}
			s = strings.Replace(s, c.from, c.to, 1)
			if strings.HasPrefix(c.to, "slabs") {
				s = incrementKeys.ReplaceAllString(s, "")
			}
			return s
		})
		msg := mustProblems(t, path)
		if !strings.Contains(msg, path+": ") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: missing %q in:\n%s", c.to, c.want, msg)
		}
	}
}

var (
	incrementKeys = regexp.MustCompile(`(?m)^(first_period|first_price|increment|increment_price) = .*\n`)
	exampleValue  = regexp.MustCompile(`(?m)^(\w+) = "([^"]*)"`)
	amountValue   = regexp.MustCompile(`^\d+\.\d\d$`)
)

// Every duration and amount key of the example refuses a negative value
// and a bare number, every amount one above AED 1,000,000, each problem
// naming its section and key.
func TestEveryDurationAndAmountIsChecked(t *testing.T) {
	src, err := os.ReadFile("../exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	type edit struct{ key, value, why string }
	var edits []edit
	for _, m := range exampleValue.FindAllStringSubmatchIndex(string(src), -1) {
		key, value := string(src[m[2]:m[3]]), string(src[m[4]:m[5]])
		section := sectionAt(string(src), m[0])
		full := section + "." + key
		switch {
		case amountValue.MatchString(value):
			edits = append(edits,
				edit{full, `"-0.01"`, "must not be negative"},
				edit{full, `"1000000.01"`, "AED 1000000.00"},
				edit{full, `20`, "write amounts as strings"})
		default:
			if _, err := time.ParseDuration(value); err != nil {
				continue // not a duration
			}
			edits = append(edits,
				edit{full, `"-1s"`, ""},
				edit{full, `15`, "bare number"})
		}
	}
	if len(edits) < 50 {
		t.Fatalf("only %d edits: the example's keys were not found", len(edits))
	}
	at := func(src, section, key string) int {
		i := strings.Index(src, "["+section+"]")
		if i < 0 {
			t.Fatalf("no section %s", section)
		}
		j := strings.Index(src[i:], "\n"+key+" = ")
		if j < 0 {
			t.Fatalf("no %s in %s", key, section)
		}
		return i + j + 1
	}
	for _, e := range edits {
		section, key := e.key[:strings.LastIndex(e.key, ".")], e.key[strings.LastIndex(e.key, ".")+1:]
		path := lay(t, func(s string) string {
			i := at(s, section, key)
			end := i + strings.Index(s[i:], "\n")
			line := s[i:end]
			old := exampleValue.FindStringSubmatch(line)[0]
			return s[:i] + strings.Replace(line, old, key+" = "+e.value, 1) + s[end:]
		})
		msg := mustProblems(t, path)
		// Tables name their index and name: tariff.tables[0] (all week).first_period.
		found := false
		for _, line := range strings.Split(msg, "\n") {
			if strings.Contains(line, section) && strings.Contains(line, "."+key+" ") || strings.Contains(line, section) && strings.Contains(line, "."+key+":") {
				found = found || strings.Contains(line, e.why)
			}
		}
		if !found {
			t.Errorf("%s = %s: no problem naming %s (%q) in:\n%s", e.key, e.value, e.key, e.why, msg)
		}
	}
}

// sectionAt is the [section] or [[section]] that the byte at i of a TOML
// text is in.
func sectionAt(src string, i int) string {
	head := regexp.MustCompile(`(?m)^\[\[?([\w.]+)\]\]?`)
	section := ""
	for _, m := range head.FindAllStringSubmatchIndex(src[:i], -1) {
		section = src[m[2]:m[3]]
	}
	return section
}

func TestTimezone(t *testing.T) {
	cases := []struct{ line, want, zone string }{
		{`timezone = ""`, `site.timezone: empty`, ""},
		{`timezone = "Local"`, `site.timezone: "Local" is whatever zone this machine is set to`, ""},
		{`timezone = "Mars/Olympus"`, `site.timezone: "Mars/Olympus" is not a time zone`, ""},
		{`timezone = "UTC"`, "", "UTC"},
		{`#timezone omitted`, "", "Asia/Dubai"},
	}
	for _, c := range cases {
		path := lay(t, func(s string) string { return strings.Replace(s, `timezone = "Asia/Dubai"`, c.line, 1) })
		if c.want != "" {
			if msg := mustProblems(t, path); !strings.Contains(msg, path+": "+c.want) {
				t.Errorf("%s: missing %q in:\n%s", c.line, c.want, msg)
			}
			continue
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		if cfg.Site.Location.String() != c.zone || cfg.Tariff.Location != cfg.Site.Location {
			t.Errorf("%s: zone %s, tariff %s; want %s", c.line, cfg.Site.Location, cfg.Tariff.Location, c.zone)
		}
	}
}

// An omitted lost_fee is a problem; "0.00" says lost tickets are free.
func TestLostFeeRequired(t *testing.T) {
	path := lay(t, func(s string) string { return strings.Replace(s, `lost_fee = "150.00"`, ``, 1) })
	if msg := mustProblems(t, path); !strings.Contains(msg, path+`: tariff.lost_fee: missing`) || !strings.Contains(msg, `write "0.00" if lost tickets are free`) {
		t.Errorf("omitted lost_fee: %s", msg)
	}
	path = lay(t, func(s string) string { return strings.Replace(s, `lost_fee = "150.00"`, `lost_fee = "0.00"`, 1) })
	c, err := Load(path)
	if err != nil || c.Tariff.LostFee != 0 {
		t.Fatalf("lost_fee = \"0.00\": %v", err)
	}
}

// A config file is read up to MaxFileSize; a larger one is refused
// without being read whole.
func TestFileSizeCap(t *testing.T) {
	pad := func(size int) func(string) string {
		return func(s string) string {
			s += "\n#"
			return s + strings.Repeat("x", size-len(s)-1) + "\n"
		}
	}
	path := lay(t, pad(MaxFileSize))
	if _, err := Load(path); err != nil {
		t.Fatalf("a file of exactly %d bytes: %v", MaxFileSize, err)
	}
	path = lay(t, pad(MaxFileSize+1))
	if msg := mustProblems(t, path); !strings.Contains(msg, path+": larger than 1024 KiB") {
		t.Errorf("1 MiB + 1: %s", msg)
	}
	// 50 MB of zeros, as the issue's: refused at once.
	big := filepath.Join(t.TempDir(), "big.toml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if msg := mustProblems(t, big); !strings.Contains(msg, "larger than 1024 KiB") {
		t.Errorf("50 MB: %s", msg)
	}
}

// Sections loads only what a command needs: "exitlane fee" runs without
// PayBy key files or a reachable relay setting.
func TestSections(t *testing.T) {
	path := lay(t, func(s string) string {
		s = strings.Replace(s, `board = "lcus"`, `board = "acme"`, 1)
		s = strings.Replace(s, `dedup = "2s"`, "dedup = 2\ndedupe = \"2s\"", 1)
		return s
	})
	dir := filepath.Dir(path)
	if err := os.Remove(filepath.Join(dir, "payby/merchant_private.pem")); err != nil {
		t.Fatal(err)
	}
	msg := mustProblems(t, path)
	for _, want := range []string{"payby.private_key_file:", "relay.board:", "scanner.dedupe: unknown key", "scanner.dedup: 2 is a bare number"} {
		if !strings.Contains(msg, want) {
			t.Errorf("full load: missing %q in:\n%s", want, msg)
		}
	}
	c, err := Load(path, Sections("ticket", "tariff"))
	if err != nil {
		t.Fatalf("ticket and tariff: %v", err)
	}
	if c.Site.ID != "GRG01" || c.Site.Location.String() != "Asia/Dubai" || len(c.Ticket.Key) != 16 || c.Tariff.LostFee != money.AED(150) || c.Tariff.Location != c.Site.Location {
		t.Errorf("sections not loaded: %+v %+v", c.Site, c.Tariff)
	}
	if c.Relay.Board != "lcus" || c.PayBy.PrivateKeyFile != "" {
		t.Errorf("sections not asked for were read: relay %+v payby %+v", c.Relay, c.PayBy)
	}
	if err := os.Remove(filepath.Join(dir, "ticket.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Sections("tariff")); err != nil {
		t.Fatalf("tariff only: %v", err)
	}
	if msg := mustProblems(t, path, Sections("ticket", "tariff")); !strings.Contains(msg, "ticket.key_file:") || strings.Contains(msg, "relay") || strings.Contains(msg, "payby") {
		t.Errorf("ticket without its key: %s", msg)
	}

	// What is loaded is still checked, site always; the file must still be
	// TOML with known sections.
	for _, c := range []struct{ from, to, want string }{
		{`grace = "15m"`, `grace = 15`, "tariff.grace: 15 is a bare number"},
		{`lost_fee = "150.00"`, ``, "tariff.lost_fee: missing"},
		{`timezone = "Asia/Dubai"`, `timezone = "Local"`, "site.timezone:"},
		{`[log]`, `[logs]`, "logs.level: unknown key"},
		{`[log]`, `[log`, "line "},
	} {
		path := lay(t, func(s string) string { return strings.Replace(s, c.from, c.to, 1) })
		if msg := mustProblems(t, path, Sections("tariff")); !strings.Contains(msg, c.want) {
			t.Errorf("%s: missing %q in:\n%s", c.to, c.want, msg)
		}
	}
	if msg := mustProblems(t, lay(t, nil), Sections("tarif")); !strings.Contains(msg, `config.Sections: "tarif" is not a section`) {
		t.Errorf("unknown section name: %s", msg)
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"2h", 2 * time.Hour, ""},
		{" 90m ", 90 * time.Minute, ""},
		{"0", 0, ""},
		{"-2h", 0, "must not be negative"},
		{"15", 0, "with its unit"},
		{"", 0, "with its unit"},
	} {
		got, err := ParseDuration(c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s, %q", c.in, got, err, c.want, c.err)
		}
	}
}

// The example's header says: keys marked (required) must be given, any
// other key left out takes the value shown, except where its comment says
// "omitted: ...". Load the example with every other key removed and
// compare.
func TestExampleDefaults(t *testing.T) {
	full := lay(t, nil)
	src, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	omitted := map[string]bool{}
	section, inArray, skipping := "", false, false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case skipping:
			skipping = !strings.HasPrefix(line, "]")
			continue
		case strings.HasPrefix(line, "[["):
			inArray = true // an example block: kept whole
		case strings.HasPrefix(line, "["):
			section, inArray = strings.Trim(line, "[]"), false
		case !inArray && exampleKey.MatchString(line) && !strings.Contains(line, "(required)"):
			key := exampleKey.FindStringSubmatch(line)[1]
			if strings.Contains(line, "omitted:") {
				omitted[section+"."+key] = true
			}
			skipping = strings.HasSuffix(strings.TrimSpace(strings.SplitN(line, "#", 2)[0]), "[")
			continue
		}
		kept = append(kept, line)
	}
	minimal := filepath.Join(filepath.Dir(full), "minimal.toml")
	if err := os.WriteFile(minimal, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Load(full)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(minimal)
	if err != nil {
		t.Fatalf("the example with only its required keys: %v", err)
	}
	var differ []string
	diffTOML("", reflect.ValueOf(*a), reflect.ValueOf(*b), &differ)
	got := map[string]bool{}
	for _, k := range differ {
		got[k] = true
	}
	if !reflect.DeepEqual(got, omitted) {
		t.Errorf("keys whose omission changes the config: %v\nkeys the example marks \"omitted:\": %v", differ, omitted)
	}
	if len(omitted) < 4 {
		t.Errorf("omitted %v: the example's markers were not read", omitted)
	}
}

var exampleKey = regexp.MustCompile(`^(\w+) = `)

// diffTOML lists the TOML keys (section.key) whose values differ between
// two configs, skipping derived fields.
func diffTOML(prefix string, a, b reflect.Value, out *[]string) {
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" || tag == "" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fa, fb := a.Field(i), b.Field(i)
		if f.Type.Kind() == reflect.Struct && prefix == "" {
			diffTOML(key, fa, fb, out)
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			*out = append(*out, key)
		}
	}
}

// Every tariff README.md shows (the ticket package's fixtures) is a valid
// [tariff] section of a config file, lost_fee included.
func TestReadmeTariffsAreConfigs(t *testing.T) {
	for _, name := range []string{"dubai-mall", "al-wahda", "dxb-t1-a", "dxb-t1-b", "gen", "dubai-mall-2024", "marina-mall", "al-wahda-overnight", "europe-night"} {
		tariff, err := os.ReadFile("../ticket/testdata/tariffs/" + name + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		path := lay(t, func(s string) string {
			i, j := strings.Index(s, "[tariff]\n"), strings.Index(s, "[payby]\n")
			return s[:i] + string(tariff) + "\n" + s[j:]
		})
		if _, err := Load(path); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The second tariff pass through the loader: price-list changes write
// their own lost_fee, durations inside bands and changes are strings,
// dates may be TOML dates, VAT is a whole number or a decimal string.
func TestTariffChangesAndBands(t *testing.T) {
	replace := func(extra string) func(string) string {
		return func(s string) string {
			i := strings.Index(s, "[[tariff.validations]]")
			return s[:i] + extra + "\n" + s[i:]
		}
	}
	change := `
[[tariff.changes]]
from = 2026-07-01
day = "calendar"
%s
[[tariff.changes.tables]]
name = "all week"
bands = [{ from = "06:00", rule = "increments", increment = %s, increment_price = "5.00" }]
`
	good := fmt.Sprintf(change, `lost_fee = "200.00"`, `"1h"`)
	c, err := Load(lay(t, replace(good)))
	if err != nil {
		t.Fatalf("a change with bands: %v", err)
	}
	if len(c.Tariff.Changes) != 1 || c.Tariff.Changes[0].From.String() != "2026-07-01" || c.Tariff.Changes[0].Tables[0].Bands[0].From.String() != "06:00" {
		t.Fatalf("changes %+v", c.Tariff.Changes)
	}
	for _, bad := range []struct{ src, want string }{
		{fmt.Sprintf(change, "", `"1h"`), "tariff.changes[0].lost_fee: missing"},
		{fmt.Sprintf(change, `lost_fee = "200.00"`, `3600`), "tariff.changes[0].tables[0].bands[0].increment: 3600 is a bare number"},
		{"vat_percent = 5.5", `tariff.vat_percent (line `},
		{"vat_percent = 5.5", `percent 5.5: write a fraction as a string`},
	} {
		edit := replace(bad.src)
		if strings.HasPrefix(bad.src, "vat") {
			edit = func(s string) string { return strings.Replace(s, "[tariff]\n", "[tariff]\n"+bad.src+"\n", 1) }
		}
		if msg := mustProblems(t, lay(t, edit)); !strings.Contains(msg, bad.want) {
			t.Errorf("missing %q in:\n%s", bad.want, msg)
		}
	}
	c, err = Load(lay(t, func(s string) string { return strings.Replace(s, "[tariff]\n", "[tariff]\nvat_percent = \"7.7\"\n", 1) }))
	if err != nil || c.Tariff.VATPercent != 770 {
		t.Fatalf("vat 7.7: %v %v", c, err)
	}
}

// [display] gives the panel's size or density, not both, in a plausible
// range; site.name_ar is read.
func TestDisplayAndArabicName(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Display.DiagonalInches != 21.5 || c.Display.DPI != 0 || c.Site.NameAr != "مواقف مول المثال" {
		t.Errorf("display %+v, name_ar %q", c.Display, c.Site.NameAr)
	}
	for _, tc := range []struct{ edit, want string }{
		{"diagonal_inches = 2", "display.diagonal_inches: 2 is not between 3 and 100"},
		{"diagonal_inches = 150", "display.diagonal_inches: 150 is not between 3 and 100"},
		{"diagonal_inches = 7\ndpi = 133", "display.dpi: give diagonal_inches or dpi, not both"},
		{"dpi = 20", "display.dpi: 20 is not between 50 and 600"},
		{`dpi = "high"`, `display: line `},
	} {
		path := lay(t, func(s string) string {
			return strings.Replace(s, "diagonal_inches = 21.5", tc.edit, 1)
		})
		msg := mustProblems(t, path)
		if !strings.Contains(msg, path+": "+tc.want) || !strings.Contains(msg, "display.") {
			t.Errorf("%s: want %q in:\n%s", tc.edit, tc.want, msg)
		}
	}
	path := lay(t, func(s string) string { return strings.Replace(s, "diagonal_inches = 21.5", "dpi = 133", 1) })
	if c, err := Load(path); err != nil || c.Display.DPI != 133 {
		t.Errorf("dpi = 133: %+v, %v", c, err)
	}
}
