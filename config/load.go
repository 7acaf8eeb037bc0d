package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the site's zone must not depend on the machine's tzdata

	"github.com/BurntSushi/toml"
	"github.com/exitlane/exitlane/ticket"
)

// Problems is every problem found in one config file. Its Error lists
// them one per line, each as "file: key: problem".
type Problems struct {
	File string
	List []string
}

func (p *Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s):", p.File, len(p.List))
	for _, s := range p.List {
		b.WriteString("\n  " + p.File + ": " + s)
	}
	return b.String()
}

func (p *Problems) add(format string, args ...any) {
	p.List = append(p.List, fmt.Sprintf(format, args...))
}

// Default returns the configuration every omitted key falls back to.
func Default() *Config {
	return &Config{
		Site:   Site{Timezone: "Asia/Dubai", Name: "Car park", Merchant: "exitlane"},
		Ticket: Ticket{Format: "signed", ClockTolerance: ticket.DefaultTolerance},
		PayBy: PayBy{
			NotifyReply:       "json",
			PollInterval:      2 * time.Second,
			PayWindow:         3 * time.Minute,
			Timeout:           10 * time.Second,
			ExpiryMargin:      2 * time.Minute,
			RetryInterval:     5 * time.Second,
			ReconcileInterval: 30 * time.Second,
			Subject:           "Parking fee",
		},
		Scanner:   Scanner{Baud: 9600, Parity: "none", Dedup: 2 * time.Second},
		Relay:     Relay{Board: "lcus", Baud: 9600, Channel: 1, Pulse: 500 * time.Millisecond, Address: 1},
		Loop:      Loop{Line: "cts", Debounce: 200 * time.Millisecond},
		Printer:   Printer{Baud: 9600, Width: 80, ArabicName: true, PaperStatus: true, Timeout: 5 * time.Second},
		Ledger:    Ledger{Path: "exitlane.db"},
		SiteStore: SiteStore{Timeout: 300 * time.Millisecond},
		Lane:      Lane{Notice: 6 * time.Second, Opened: 10 * time.Second, Language: "en"},
		Admin: Admin{
			LockoutAttempts: 5,
			Lockout:         5 * time.Minute,
			IdleTimeout:     2 * time.Minute,
			Reasons: []string{
				"Payment failed, driver paid another way",
				"Emergency vehicle",
				"Barrier test",
				"Ticket unreadable",
				"Staff vehicle",
			},
		},
		Log:    Log{Level: "info", Format: "text"},
		Office: Office{Listen: "127.0.0.1:8480", NotifyPath: "/payby/notify", NotifyReply: "json"},
	}
}

// MaxFileSize is the most of a config file Load reads. A real one is a
// few KiB; anything larger is the wrong file (a log, a database), and
// reading it whole could take the kiosk's memory.
const MaxFileSize = 1 << 20

// An Option changes what Load and Parse read.
type Option func(*options)

type options struct {
	sections map[string]bool // nil: all
	unknown  []string        // names given to Sections that are no section
	office   bool
}

// Sections makes Load read and validate only the named sections, and
// [site], which every command needs (the zone, the site code). The other
// sections keep their defaults unchecked and must not be used; their keys
// are not read, so "exitlane fee" needs no PayBy key files. The whole file
// must still be valid TOML, with no unknown section.
func Sections(names ...string) Option {
	return func(o *options) {
		if o.sections == nil {
			o.sections = map[string]bool{"site": true}
		}
		for _, n := range names {
			if !isSection(n) {
				o.unknown = append(o.unknown, n)
			}
			o.sections[n] = true
		}
	}
}

// ForOffice loads a site's office config (site.toml for "exitlane
// office"): [site] without a lane, [site_store] (required), [office],
// [metrics] and [log]; the lane's sections are not read.
func ForOffice() Option {
	return func(o *options) {
		Sections("site_store", "office", "metrics", "log")(o)
		o.office = true
	}
}

func isSection(name string) bool {
	for _, v := range validators {
		if v.name == name {
			return true
		}
	}
	return false
}

// Load reads, completes and validates the config file at path (at most
// MaxFileSize bytes). Relative file names in it are taken from the file's
// directory. The error, when not nil, is a *Problems listing everything
// wrong at once, or the error of opening or reading the file.
func Load(path string, opts ...Option) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	// One byte more than allowed tells a file at the limit from a larger one.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(data, path, opts...)
}

// Parse is Load for a file already read; path names it in errors and
// anchors relative file names.
func Parse(data []byte, path string, opts ...Option) (*Config, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := Default()
	c.Path = path
	c.forOffice = o.office
	probs := &Problems{File: path}
	for _, n := range o.unknown {
		probs.add("config.Sections: %q is not a section", n)
	}
	if len(data) > MaxFileSize {
		probs.add("larger than %d KiB: is this the config file? (a config file is a few KiB)", MaxFileSize>>10)
		return nil, probs
	}
	load := func(name string) bool { return o.sections == nil || o.sections[name] }
	// Decode section by section so that a bad value in one section does
	// not hide the problems of the others.
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			probs.add("line %d: %s", pe.Position.Line, pe.Message)
		} else {
			probs.add("%v", err)
		}
		return nil, probs
	}
	sections := map[string]any{
		"site": &c.Site, "ticket": &c.Ticket, "tariff": &c.Tariff, "payby": &c.PayBy,
		"scanner": &c.Scanner, "relay": &c.Relay, "loop": &c.Loop, "printer": &c.Printer, "ledger": &c.Ledger,
		"site_store": &c.SiteStore, "lane": &c.Lane, "admin": &c.Admin, "display": &c.Display, "log": &c.Log,
		"metrics": &c.Metrics, "office": &c.Office,
	}
	bad := map[string]bool{}
	names := make([]string, 0, len(top))
	for name := range top {
		names = append(names, name)
	}
	sort.Strings(names)
	// Walk the decoded sections, not md.Keys(): a section that is only
	// implied by a sub-table ([[admin.attendants]] with no [admin]) has no
	// key of its own there.
	for _, name := range names {
		target, ok := sections[name]
		if !ok || !load(name) {
			continue // unknown: reported below; not loaded: not read
		}
		if err := md.PrimitiveDecode(top[name], target); err != nil {
			probs.add("%s", decodeMessage(name, data, err))
			bad[name] = true
		}
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && (bad[k[0]] || (sections[k[0]] != nil && !load(k[0]))) {
			continue // the section failed to decode or was not loaded: its keys were not reached
		}
		probs.add("%s: unknown key (a typo?)", k)
	}
	// TOML reads a bare integer into a time.Duration as nanoseconds, so
	// `grace = 15` would be 15ns: durations must be strings with a unit.
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err == nil {
		rt := reflect.TypeFor[Config]()
		for _, name := range names {
			if f, ok := tomlField(rt, name); ok && load(name) {
				bareDurations(probs, name, raw[name], f.Type)
			}
		}
	}
	if load("tariff") && !md.IsDefined("tariff", "lost_fee") {
		// Zero would make lost tickets free without a word.
		probs.add(`tariff.lost_fee: missing: the price of a lost ticket, like "150.00" (write "0.00" if lost tickets are free)`)
	}
	if load("tariff") {
		// Each later price list writes its own lost_fee too.
		tariff, _ := raw["tariff"].(map[string]any)
		changes, _ := tariff["changes"].([]map[string]any)
		for i, ch := range changes {
			if _, ok := ch["lost_fee"]; !ok {
				probs.add(`tariff.changes[%d].lost_fee: missing: the price of a lost ticket under this price list, like "150.00"`, i)
			}
		}
	}
	c.resolve(filepath.Dir(path))
	c.validate(probs, load)
	// A section that failed to decode is half-filled: its validation
	// problems would be noise next to the real one.
	kept := probs.List[:0]
	for _, line := range probs.List {
		sec, _, _ := strings.Cut(line, ".")
		if !bad[sec] || strings.Contains(line, "line ") {
			kept = append(kept, line)
		}
	}
	probs.List = kept
	if len(probs.List) > 0 {
		return nil, probs
	}
	return c, nil
}

// resolve makes relative file names relative to dir.
func (c *Config) resolve(dir string) {
	for _, p := range []*string{&c.Ticket.KeyFile, &c.PayBy.PrivateKeyFile, &c.PayBy.PublicKeyFile, &c.Ledger.Path,
		&c.Office.PayByPublicKeyFile, &c.Office.TLSCertFile, &c.Office.TLSKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) && *p != ":memory:" {
			*p = filepath.Join(dir, *p)
		}
	}
}

var codeRE = regexp.MustCompile(`^[A-Z0-9]{1,8}$`)

// validators check one section each, in the file's order; a section's
// check may read [site] (always loaded) and no other section.
var validators = []struct {
	name  string
	check func(*Config, *Problems)
}{
	{"site", (*Config).validateSite},
	{"ticket", (*Config).validateTicket},
	{"tariff", (*Config).validateTariff},
	{"payby", (*Config).validatePayBy},
	{"scanner", (*Config).validateScanner},
	{"relay", (*Config).validateRelay},
	{"loop", (*Config).validateLoop},
	{"printer", (*Config).validatePrinter},
	{"ledger", (*Config).validateLedger},
	{"site_store", (*Config).validateSiteStore},
	{"lane", (*Config).validateLane},
	{"admin", (*Config).validateAdmin},
	{"display", (*Config).validateDisplay},
	{"log", (*Config).validateLog},
	{"metrics", (*Config).validateMetrics},
	{"office", (*Config).validateOffice},
}

// validate checks the sections load says were loaded.
func (c *Config) validate(p *Problems, load func(string) bool) {
	for _, v := range validators {
		if load(v.name) {
			v.check(c, p)
		}
	}
}

func (c *Config) validateSite(p *Problems) {
	if !codeRE.MatchString(c.Site.ID) {
		p.add("site.id: %q must be 1-8 of A-Z 0-9", c.Site.ID)
	}
	if !codeRE.MatchString(c.Site.Lane) && !(c.forOffice && c.Site.Lane == "") {
		p.add("site.lane: %q must be 1-8 of A-Z 0-9", c.Site.Lane)
	}
	loc := time.UTC
	switch c.Site.Timezone {
	case "":
		// time.LoadLocation reads "" as UTC.
		p.add(`site.timezone: empty: name the site's zone, like "Asia/Dubai" (or leave the key out for Asia/Dubai)`)
	case "Local":
		// time.LoadLocation reads "Local" as this machine's zone, which
		// differs between machines and changes with their setup.
		p.add(`site.timezone: "Local" is whatever zone this machine is set to: name the site's zone, like "Asia/Dubai"`)
	default:
		l, err := time.LoadLocation(c.Site.Timezone)
		if err != nil {
			p.add("site.timezone: %q is not a time zone (like Asia/Dubai)", c.Site.Timezone)
		} else {
			loc = l
		}
	}
	c.Site.Location = loc
	c.Tariff.Location = loc
	if c.Site.TRN != "" {
		if !trnRE.MatchString(c.Site.TRN) {
			p.add("site.tax_registration_number: %q is not a TRN: 15 digits, like \"100123456700003\"", c.Site.TRN)
		}
		if strings.TrimSpace(c.Site.Address) == "" {
			p.add("site.address: missing: a simplified tax invoice (printed because tax_registration_number is set) names the supplier's address")
		}
	}
}

// trnRE is a UAE tax registration number: 15 digits.
var trnRE = regexp.MustCompile(`^[0-9]{15}$`)

func (c *Config) validateTicket(p *Problems) {
	switch c.Ticket.Format {
	case "signed":
		if c.Ticket.KeyFile == "" {
			p.add("ticket.key_file: needed for signed tickets (a file with at least 32 hex digits)")
		} else if key, err := ReadSecret(c.Ticket.KeyFile); err != nil {
			p.add("ticket.key_file: %v", err)
		} else if k, err := ticket.ParseKey(string(key)); err != nil {
			p.add("ticket.key_file: %s: %v", c.Ticket.KeyFile, err)
		} else {
			c.Ticket.Key = k
		}
	case "pattern":
		if _, err := ticket.NewPattern(c.Ticket.Pattern, c.Ticket.TimeLayout, c.Site.Location, c.Ticket.ClockTolerance); err != nil {
			p.add("ticket.pattern: %v", err)
		}
	default:
		p.add("ticket.format: %q is not \"signed\" or \"pattern\"", c.Ticket.Format)
	}
	if c.Ticket.ClockTolerance < 0 || c.Ticket.ClockTolerance > time.Hour {
		p.add("ticket.clock_tolerance: %s is not between 0 and 1h", c.Ticket.ClockTolerance)
	}
}

func (c *Config) validateTariff(p *Problems) {
	for _, err := range c.Tariff.Validate("tariff") {
		p.add("%v", err)
	}
}

func (c *Config) validatePayBy(p *Problems) {
	if c.PayBy.BaseURL == "" {
		p.add("payby.base_url: missing (PayBy UAT is https://uat.test2pay.com/sgs/api)")
	} else if u, err := url.Parse(c.PayBy.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add("payby.base_url: %q is not an http(s) URL", c.PayBy.BaseURL)
	}
	if c.PayBy.PartnerID == "" || len(c.PayBy.PartnerID) > 12 {
		p.add("payby.partner_id: %q must be the merchant ID, 1-12 characters", c.PayBy.PartnerID)
	}
	if c.PayBy.PrivateKeyFile == "" {
		p.add("payby.private_key_file: missing (the merchant's RSA private key, PEM)")
	} else if err := checkSecretFile(c.PayBy.PrivateKeyFile); err != nil {
		p.add("payby.private_key_file: %v", err)
	}
	if c.PayBy.PublicKeyFile == "" {
		p.add("payby.public_key_file: missing (PayBy's RSA public key, PEM)")
	} else if _, err := os.Stat(c.PayBy.PublicKeyFile); err != nil {
		p.add("payby.public_key_file: %v", err)
	}
	if c.PayBy.NotifyURL != "" {
		if u, err := url.Parse(c.PayBy.NotifyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.add("payby.notify_url: %q is not an http(s) URL", c.PayBy.NotifyURL)
		}
	}
	if c.PayBy.NotifyReply != "json" && c.PayBy.NotifyReply != "plain" {
		p.add("payby.notify_reply: %q is not \"json\" or \"plain\"", c.PayBy.NotifyReply)
	}
	if c.PayBy.PollInterval < time.Second || c.PayBy.PollInterval > 6*time.Second {
		p.add("payby.poll_interval: %s is not between 1s and 6s (PayBy's acceptance cadence)", c.PayBy.PollInterval)
	}
	if c.PayBy.PayWindow < 30*time.Second || c.PayBy.PayWindow > 30*time.Minute {
		p.add("payby.pay_window: %s is not between 30s and 30m", c.PayBy.PayWindow)
	}
	if c.PayBy.Timeout < time.Second || c.PayBy.Timeout > time.Minute {
		p.add("payby.timeout: %s is not between 1s and 1m", c.PayBy.Timeout)
	}
	if c.PayBy.ExpiryMargin < 30*time.Second || c.PayBy.ExpiryMargin > 30*time.Minute {
		p.add("payby.expiry_margin: %s is not between 30s and 30m", c.PayBy.ExpiryMargin)
	}
	if c.PayBy.RetryInterval < 3*time.Second || c.PayBy.RetryInterval > 10*time.Second {
		p.add("payby.retry_interval: %s is not between 3s and 10s (PayBy's acceptance cadence for retries)", c.PayBy.RetryInterval)
	}
	if c.PayBy.ReconcileInterval < 10*time.Second || c.PayBy.ReconcileInterval > 10*time.Minute {
		p.add("payby.reconcile_interval: %s is not between 10s and 10m", c.PayBy.ReconcileInterval)
	}
	if err := c.PayBy.MaxAmount.CheckRange(); err != nil {
		p.add("payby.max_amount: %v", err)
	}
	if c.PayBy.Subject == "" || len(c.PayBy.Subject) > 12 {
		p.add("payby.subject: %q must be 1-12 characters (PayBy's smaller documented limit)", c.PayBy.Subject)
	}
}

func (c *Config) validateScanner(p *Problems) {
	if c.Scanner.Port == "" {
		p.add("scanner.port: missing (for example /dev/exitlane-scanner)")
	}
	if c.Scanner.Baud <= 0 {
		p.add("scanner.baud: %d must be positive", c.Scanner.Baud)
	}
	switch c.Scanner.Parity {
	case "none", "even", "odd":
	default:
		p.add("scanner.parity: %q is not none, even or odd", c.Scanner.Parity)
	}
	if c.Scanner.Dedup < 0 || c.Scanner.Dedup > time.Minute {
		p.add("scanner.dedup: %s is not between 0 and 1m", c.Scanner.Dedup)
	}
}

func (c *Config) validateRelay(p *Problems) {
	if c.Relay.Port == "" {
		p.add("relay.port: missing (for example /dev/exitlane-relay)")
	}
	switch c.Relay.Board {
	case "lcus", "kmtronic", "numato", "devantech", "modbus":
	default:
		p.add("relay.board: %q is not lcus, kmtronic, numato, devantech or modbus", c.Relay.Board)
	}
	if c.Relay.Baud <= 0 {
		p.add("relay.baud: %d must be positive", c.Relay.Baud)
	}
	if c.Relay.Channel < 0 || c.Relay.Channel > 255 {
		p.add("relay.channel: %d is out of range", c.Relay.Channel)
	}
	if c.Relay.Pulse < 100*time.Millisecond || c.Relay.Pulse > 3*time.Second {
		p.add("relay.pulse: %s is not between 100ms and 3s", c.Relay.Pulse)
	}
	if c.Relay.Address < 1 || c.Relay.Address > 247 {
		p.add("relay.address: %d is not a Modbus address 1-247", c.Relay.Address)
	}
}

func (c *Config) validateLoop(p *Problems) {
	if c.Loop.Port != "" {
		switch c.Loop.Line {
		case "cts", "dsr", "dcd", "ri", "gpio":
		default:
			p.add("loop.line: %q is not cts, dsr, dcd, ri or gpio", c.Loop.Line)
		}
	}
	if c.Loop.Debounce < 0 || c.Loop.Debounce > 5*time.Second {
		p.add("loop.debounce: %s is not between 0 and 5s", c.Loop.Debounce)
	}
}

func (c *Config) validatePrinter(p *Problems) {
	if c.Printer.Port == "" && c.Printer.AutoPrint {
		p.add("printer.auto_print: true with no printer.port")
	}
	if c.Printer.Baud <= 0 {
		p.add("printer.baud: %d must be positive", c.Printer.Baud)
	}
	if c.Printer.Width != 58 && c.Printer.Width != 80 {
		p.add("printer.width: %d is not 58 or 80 (the paper width in mm)", c.Printer.Width)
	}
	if c.Printer.Timeout < time.Second || c.Printer.Timeout > 30*time.Second {
		p.add("printer.timeout: %s is not between 1s and 30s", c.Printer.Timeout)
	}
	// A tax invoice prints the rate as a whole percent (receipt.Receipt).
	if c.Printer.Port != "" && c.Site.TRN != "" && c.Tariff.VATPercent%100 != 0 {
		p.add("tariff.vat_percent: %s with a printer and site.tax_registration_number: the receipt's tax invoice prints whole VAT rates only", c.Tariff.VATPercent)
	}
}

func (c *Config) validateLedger(p *Problems) {
	if c.Ledger.Path == "" {
		p.add("ledger.path: missing")
	}
}

func (c *Config) validateSiteStore(p *Problems) {
	s := c.SiteStore
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			// url.Error repeats the URL, which may hold a password.
			p.add("site_store.url: not a URL")
		case u.Scheme != "postgres" && u.Scheme != "postgresql":
			p.add(`site_store.url: the scheme %q is not "postgres" or "postgresql"`, u.Scheme)
		case u.Host == "" && u.Query().Get("host") == "":
			p.add("site_store.url: no host")
		}
	}
	if s.Timeout < 10*time.Millisecond || s.Timeout > 10*time.Second {
		p.add("site_store.timeout: %s is not between 10ms and 10s", s.Timeout)
	}
}

func (c *Config) validateMetrics(p *Problems) {
	if c.Metrics.Listen != "" {
		checkListen(p, "metrics.listen", c.Metrics.Listen, `like "127.0.0.1:9464"`)
	}
}

// checkListen checks a listener's address: a host and a port, the host
// an IP address or "localhost". An empty host would bind every interface
// without anyone having said so.
func checkListen(p *Problems, key, addr, like string) (loopback, ok bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add("%s: %q is not host:port, %s", key, addr, like)
		return false, false
	}
	ok = true
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.add("%s: %q: the port must be 1-65535", key, addr)
		ok = false
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		p.add(`%s: %q binds every interface: name the host, "127.0.0.1%s" for this machine only or "0.0.0.0%s" to expose it`, key, addr, addr, addr)
		return false, false
	case host == "localhost":
		return true, ok
	case ip == nil:
		p.add(`%s: %q: the host must be an IP address or "localhost"`, key, addr)
		return false, false
	default:
		return ip.IsLoopback(), ok
	}
}

func (c *Config) validateOffice(p *Problems) {
	o := c.Office
	loopback, ok := checkListen(p, "office.listen", o.Listen, `like "127.0.0.1:8480"`)
	switch {
	case (o.TLSCertFile == "") != (o.TLSKeyFile == ""):
		p.add("office.tls_cert_file, office.tls_key_file: give both or neither")
	case o.TLSCertFile != "":
		if _, err := os.Stat(o.TLSCertFile); err != nil {
			p.add("office.tls_cert_file: %v", err)
		}
		if err := checkSecretFile(o.TLSKeyFile); err != nil {
			p.add("office.tls_key_file: %v", err)
		}
	case ok && !loopback:
		p.add("office.listen: %q is not loopback: plain HTTP is served only on loopback (behind a TLS proxy); set tls_cert_file and tls_key_file", o.Listen)
	}
	if !strings.HasPrefix(o.NotifyPath, "/") || strings.ContainsAny(o.NotifyPath, " ?#") {
		p.add(`office.notify_path: %q must be a path like "/payby/notify"`, o.NotifyPath)
	}
	if o.NotifyReply != "json" && o.NotifyReply != "plain" {
		p.add("office.notify_reply: %q is not \"json\" or \"plain\"", o.NotifyReply)
	}
	if !c.forOffice {
		return
	}
	if o.PayByPublicKeyFile == "" {
		p.add("office.payby_public_key_file: missing (PayBy's RSA public key, PEM: it verifies the notifications)")
	} else if _, err := os.Stat(o.PayByPublicKeyFile); err != nil {
		p.add("office.payby_public_key_file: %v", err)
	}
	if !c.SiteStore.Enabled() {
		p.add("site_store.url: missing: the office records notifications in the site store and tells the lanes through it")
	}
}

func (c *Config) validateLane(p *Problems) {
	if c.Lane.Notice < time.Second || c.Lane.Notice > time.Minute {
		p.add("lane.notice: %s is not between 1s and 1m", c.Lane.Notice)
	}
	if c.Lane.Opened < time.Second || c.Lane.Opened > 5*time.Minute {
		p.add("lane.opened: %s is not between 1s and 5m", c.Lane.Opened)
	}

	if c.Lane.Language != "en" && c.Lane.Language != "ar" {
		p.add("lane.language: %q is not \"en\" or \"ar\"", c.Lane.Language)
	}
}

func (c *Config) validateAdmin(p *Problems) {
	if c.Admin.LockoutAttempts < 1 || c.Admin.LockoutAttempts > 20 {
		p.add("admin.lockout_attempts: %d is not between 1 and 20", c.Admin.LockoutAttempts)
	}
	if c.Admin.Lockout < time.Minute {
		p.add("admin.lockout: %s is shorter than 1m", c.Admin.Lockout)
	}
	if c.Admin.IdleTimeout < 10*time.Second {
		p.add("admin.idle_timeout: %s is shorter than 10s", c.Admin.IdleTimeout)
	}
	ids := map[string]bool{}
	for i, a := range c.Admin.Attendants {
		key := fmt.Sprintf("admin.attendants[%d]", i)
		if a.ID == "" {
			p.add("%s.id: missing", key)
		} else if ids[a.ID] {
			p.add("%s.id: %q is used twice", key, a.ID)
		}
		ids[a.ID] = true
		if !strings.HasPrefix(a.PINHash, "$2a$") && !strings.HasPrefix(a.PINHash, "$2b$") && !strings.HasPrefix(a.PINHash, "$2y$") {
			p.add("%s.pin_hash: not a bcrypt hash (make one with: exitlane admin add-attendant)", key)
		}
	}
}

func (c *Config) validateDisplay(p *Problems) {
	d := c.Display
	if d.DiagonalInches != 0 && (d.DiagonalInches < 3 || d.DiagonalInches > 100) {
		p.add("display.diagonal_inches: %g is not between 3 and 100 (the panel's visible diagonal in inches)", d.DiagonalInches)
	}
	if d.DPI != 0 && (d.DPI < 50 || d.DPI > 600) {
		p.add("display.dpi: %g is not between 50 and 600 (pixels per inch)", d.DPI)
	}
	if d.DiagonalInches != 0 && d.DPI != 0 {
		p.add("display.dpi: give diagonal_inches or dpi, not both")
	}
}

func (c *Config) validateLog(p *Problems) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format: %q is not text or json", c.Log.Format)
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// bareDurations reports every key under key whose Go field (of type t) is
// a time.Duration but whose TOML value v is a number.
func bareDurations(p *Problems, key string, v any, t reflect.Type) {
	switch {
	case t == durationType:
		switch v.(type) {
		case int64, float64:
			p.add(`%s: %v is a bare number (it would be read as nanoseconds): write a duration as a string with its unit, like "15m" or "500ms"`, key, v)
		}
	case t.Kind() == reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if f, ok := tomlField(t, k); ok {
				bareDurations(p, key+"."+k, m[k], f.Type)
			}
		}
	case t.Kind() == reflect.Slice:
		// An array of tables decodes as []map[string]any, an inline array
		// as []any.
		rv := reflect.ValueOf(v)
		if v == nil || rv.Kind() != reflect.Slice {
			return
		}
		for i := range rv.Len() {
			bareDurations(p, fmt.Sprintf("%s[%d]", key, i), rv.Index(i).Interface(), t.Elem())
		}
	}
}

// tomlField finds the field of struct type t that the TOML key name
// decodes into, looking into embedded structs as the decoder does.
func tomlField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch {
		case tag == "-":
		case f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct:
			if g, ok := tomlField(f.Type, name); ok {
				return g, true
			}
		case tag == name:
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// ParseDuration reads a duration as a person writes it in a config file
// or on a command line: with a unit ("90m", "2h"; a bare "0" is zero),
// never negative.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("duration %q: write a duration with its unit, like \"15m\" or \"2h\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q: must not be negative", s)
	}
	return d, nil
}

// ReadSecret reads a key file, refusing one that group or others can read:
// a ticket key or a merchant key readable by anyone on the kiosk lets them
// forge tickets or payments.
func ReadSecret(path string) ([]byte, error) {
	if err := checkSecretFile(path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func checkSecretFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o; a key file must not be readable by group or others (chmod 600 %s)", path, perm, path)
	}
	return nil
}

// decodeMessage turns a TOML decode error in section into
// "section.key (line N): message", reading the key from the line.
func decodeMessage(section string, data []byte, err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key := section
		lines := strings.Split(string(data), "\n")
		if strings.HasPrefix(pe.LastKey, section+".") {
			key = pe.LastKey // the whole path: tariff.tables.first_price
		} else if n := pe.Position.Line; n >= 1 && n <= len(lines) {
			if k, _, ok := strings.Cut(lines[n-1], "="); ok {
				if k = strings.TrimSpace(k); k != "" && !strings.ContainsAny(k, "{[") {
					key = section + "." + k
				}
			}
		}
		return fmt.Sprintf("%s (line %d): %s", key, pe.Position.Line, pe.Message)
	}
	return section + ": " + strings.TrimPrefix(err.Error(), "toml: ")
}
