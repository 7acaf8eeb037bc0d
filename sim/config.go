package sim

import (
	"fmt"
	"os"
	"strings"
)

// LaneConfig is what differs between the config files of simulated lanes
// (exitlane sim's, one per lane, and sim/simtest's rig): their site, their
// devices' ptys and their timings. The rest (the tariff, the keys' file
// names, the PayBy partner) is the simulation's one text, written by
// WriteLaneConfig. Zero fields mean the defaults given with each.
type LaneConfig struct {
	Site     string // site.id; default "SIM"
	Lane     string // site.lane; default "X1"
	Name     string // site.name; default "Simulation Mall Garage"
	Merchant string // site.merchant; default "exitlane simulation"
	// Validation adds the validation code CINEMA (2 hours free) to the
	// tariff.
	Validation bool

	PayByURL string // payby.base_url (the sandbox's, with sandbox.APIPrefix)
	Poll     string // payby.poll_interval; default "1s"
	Scanner  string // scanner.port
	Relay    string // relay.port
	Board    string // relay.board; default "lcus"
	Pulse    string // relay.pulse; default "500ms"
	Ledger   string // ledger.path; default "lane.db"
	Notice   string // lane.notice; default "6s"
	Opened   string // lane.opened; default "8s"

	// Printer is the receipt printer's port ("": none). A lane with a
	// printer is a VAT-registered site's (5 % VAT, a tax registration
	// number), so its receipts are simplified tax invoices.
	Printer      string
	PrinterWidth int // printer.width, 58 or 80; default 80
	AutoPrint    bool
	// StoreURL is the site store ([site_store] url; "": none).
	StoreURL string
}

// WriteLaneConfig writes c's config file to path (mode 0600). Relative
// file names in it (ticket.key, merchant.key, payby.pub, the ledger) are
// of path's directory.
func WriteLaneConfig(path string, c LaneConfig) error {
	if err := os.WriteFile(path, []byte(c.TOML()), 0o600); err != nil {
		return fmt.Errorf("sim: lane config: %w", err)
	}
	return nil
}

// TOML is c's config file.
func (c LaneConfig) TOML() string {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# written by "exitlane sim"
[site]
id = %q
lane = %q
name = %q
merchant = %q
timezone = "Asia/Dubai"
`, or(c.Site, "SIM"), or(c.Lane, "X1"), or(c.Name, "Simulation Mall Garage"), or(c.Merchant, "exitlane simulation"))
	if c.Printer != "" {
		b.WriteString(`address = "Simulation Boulevard, Dubai"
tax_registration_number = "100000000000003"
`)
	}
	b.WriteString(`[ticket]
key_file = "ticket.key"
[tariff]
`)
	if c.Printer != "" {
		b.WriteString("vat_percent = 5\n")
	}
	b.WriteString(`grace = "15m"
exit_grace = "20m"
lost_fee = "150.00"
[[tariff.tables]]
name = "all week"
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"
cap = "50.00"
`)
	if c.Validation {
		b.WriteString(`[[tariff.validations]]
code = "CINEMA"
name = "Cinema, 2 hours"
time = "2h"
`)
	}
	fmt.Fprintf(&b, `[payby]
base_url = %q
partner_id = "200000000888"
private_key_file = "merchant.key"
public_key_file = "payby.pub"
poll_interval = %q
pay_window = "3m"
timeout = "5s"
[scanner]
port = %q
dedup = "1s"
[relay]
port = %q
board = %q
pulse = %q
[ledger]
path = %q
[lane]
notice = %q
opened = %q
`, c.PayByURL, or(c.Poll, "1s"), c.Scanner, c.Relay, or(c.Board, "lcus"), or(c.Pulse, "500ms"),
		or(c.Ledger, "lane.db"), or(c.Notice, "6s"), or(c.Opened, "8s"))
	if c.Printer != "" {
		width := c.PrinterWidth
		if width == 0 {
			width = 80
		}
		fmt.Fprintf(&b, `[printer]
port = %q
width = %d
auto_print = %t
timeout = "5s"
`, c.Printer, width, c.AutoPrint)
	}
	if c.StoreURL != "" {
		fmt.Fprintf(&b, "[site_store]\nurl = %q\ntimeout = \"300ms\"\n", c.StoreURL)
	}
	return b.String()
}
