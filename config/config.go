// Package config loads and validates the lane's one TOML file.
//
// Every problem is reported at once, each naming its key and the file, and
// unknown keys are errors because they are usually typos. Durations are
// written like "500ms" or "3m" and amounts as strings like "20.00".
package config

import (
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
)

// Config is the whole lane configuration. Fields tagged toml:"-" are
// derived by Load (keys read from files, the time zone).
type Config struct {
	// Path is the file the config was loaded from ("" for the built-in
	// simulation config).
	Path string `toml:"-"`

	Site    Site          `toml:"site"`
	Ticket  Ticket        `toml:"ticket"`
	Tariff  ticket.Tariff `toml:"tariff"`
	PayBy   PayBy         `toml:"payby"`
	Scanner Scanner       `toml:"scanner"`
	Relay   Relay         `toml:"relay"`
	Loop    Loop          `toml:"loop"`
	Printer Printer       `toml:"printer"`
	Ledger  Ledger        `toml:"ledger"`
	// SiteStore is the site's PostgreSQL (URL "": this lane works alone).
	SiteStore SiteStore `toml:"site_store"`
	Lane      Lane      `toml:"lane"`
	Admin     Admin     `toml:"admin"`
	Display   Display   `toml:"display"`
	Log       Log       `toml:"log"`
	// Metrics is the /metrics, /healthz and /readyz listener (a lane's or
	// the office's); off unless configured.
	Metrics Metrics `toml:"metrics"`
	// Office configures "exitlane office" (site.toml); lanes ignore it.
	Office Office `toml:"office"`

	// forOffice: loaded with the Office option (no lane of its own).
	forOffice bool
}

// Site names the car park and this lane.
type Site struct {
	// ID is the site code in ticket codes and order numbers: 1-8 of A-Z 0-9.
	ID string `toml:"id"`
	// Lane is this exit lane's code: 1-8 of A-Z 0-9.
	Lane string `toml:"lane"`
	// Name is shown to drivers and sent to PayBy as the store name.
	Name string `toml:"name"`
	// NameAr is the site's name in Arabic, shown beside Name on the
	// driver screens ("" shows Name alone).
	NameAr string `toml:"name_ar"`
	// Merchant is the legal merchant name shown on the checkout.
	Merchant string `toml:"merchant"`
	// Timezone is an IANA zone name; day types are evaluated in it.
	Timezone string `toml:"timezone"`
	// Address is the supplier's address, printed on receipts under
	// Merchant ("": none). A simplified tax invoice needs it.
	Address string `toml:"address"`
	// TRN is the site's 15-digit tax registration number ("": none). With
	// it, receipts are simplified tax invoices showing the VAT included.
	// It is the business's, not the printer's: kept here so that any
	// receipt or invoice the lane produces finds it in one place.
	TRN string `toml:"tax_registration_number"`

	Location *time.Location `toml:"-"`
}

// Ticket says how codes are read and authenticated.
type Ticket struct {
	// KeyFile holds the site's ticket key as hex (at least 32 hex digits).
	KeyFile string `toml:"key_file"`
	// Format is "signed" (EL1 codes, the default) or "pattern" (unsigned
	// codes of a third-party entry terminal).
	Format string `toml:"format"`
	// Pattern is a regular expression with named groups "serial" and
	// "entry", for Format "pattern".
	Pattern string `toml:"pattern"`
	// TimeLayout is the Go time layout of the "entry" group, or "unix".
	TimeLayout string `toml:"time_layout"`
	// ClockTolerance is how far in the future an entry time may be before
	// the ticket is refused (entry and exit clocks disagree a little).
	ClockTolerance time.Duration `toml:"clock_tolerance"`

	Key []byte `toml:"-"`
}

// PayBy configures the payment client.
type PayBy struct {
	BaseURL        string `toml:"base_url"`
	PartnerID      string `toml:"partner_id"`
	PrivateKeyFile string `toml:"private_key_file"`
	PublicKeyFile  string `toml:"public_key_file"`
	// NotifyURL is sent with each order; empty means no notifications.
	NotifyURL string `toml:"notify_url"`
	// Listen is the address of the notification listener; empty: none.
	Listen string `toml:"listen"`
	// NotifyReply is "json" ({"response":"SUCCESS"}, the default) or
	// "plain" (the bare word SUCCESS).
	NotifyReply  string        `toml:"notify_reply"`
	PollInterval time.Duration `toml:"poll_interval"`
	PayWindow    time.Duration `toml:"pay_window"`
	Timeout      time.Duration `toml:"timeout"`
	// ExpiryMargin is added to PayWindow for the order's expiredTime, so
	// PayBy never expires an order the lane still shows.
	ExpiryMargin time.Duration `toml:"expiry_margin"`
	// RetryInterval is the wait before retrying PayBy after a failure.
	RetryInterval time.Duration `toml:"retry_interval"`
	// ReconcileInterval is the cadence of the background reconciler of
	// orders no driver waits for (abandoned, or from before a restart).
	ReconcileInterval time.Duration `toml:"reconcile_interval"`
	// MaxAmount sends larger fees to the attendant instead of a QR.
	MaxAmount money.Fils `toml:"max_amount"`
	Subject   string     `toml:"subject"`
}

// Scanner configures the serial barcode scanner.
type Scanner struct {
	Port   string `toml:"port"`
	Baud   int    `toml:"baud"`
	Parity string `toml:"parity"`
	// Dedup is how long the same code read again counts as one read.
	Dedup time.Duration `toml:"dedup"`
}

// Relay configures the relay board that pulses the barrier.
type Relay struct {
	Port      string        `toml:"port"`
	Board     string        `toml:"board"`
	Baud      int           `toml:"baud"`
	Channel   int           `toml:"channel"`
	Pulse     time.Duration `toml:"pulse"`
	ActiveLow bool          `toml:"active_low"`
	// Address is the Modbus slave address (modbus boards only).
	Address int `toml:"address"`
}

// Loop configures the optional vehicle-presence input.
type Loop struct {
	// Port is the serial port whose modem line (or Numato GPIO) carries
	// the loop detector's presence contact; empty: no loop.
	Port string `toml:"port"`
	// Line is "cts", "dsr", "dcd", "ri" or "gpio".
	Line      string        `toml:"line"`
	GPIO      int           `toml:"gpio"`
	ActiveLow bool          `toml:"active_low"`
	Debounce  time.Duration `toml:"debounce"`
}

// Printer configures the optional ESC/POS receipt printer (package
// receipt).
type Printer struct {
	// Port is the printer's serial port; empty: no printer.
	Port string `toml:"port"`
	Baud int    `toml:"baud"`
	// Width is the paper width in millimetres: 58 or 80.
	Width int `toml:"width"`
	// AutoPrint prints every paid exit's receipt without the driver
	// pressing "Receipt".
	AutoPrint bool `toml:"auto_print"`
	// ArabicName prints the site's Arabic name as a picture (thermal
	// printers have no Arabic letters); false for a printer that cannot
	// print images.
	ArabicName bool `toml:"arabic_name"`
	// PaperStatus asks the printer for its paper (DLE EOT 4) before and
	// after each receipt; false for a printer that does not answer.
	PaperStatus bool `toml:"paper_status"`
	// Timeout is the longest a receipt may take before it counts as
	// failed (the exit never waits for it).
	Timeout time.Duration `toml:"timeout"`
}

// Ledger configures the SQLite ledger.
type Ledger struct {
	Path string `toml:"path"`
}

// SiteStore configures the PostgreSQL database the lanes of one site share
// (docs/site-store.md). URL "" (or no [site_store]): the lane works alone
// on its ledger, as a single lane always has.
type SiteStore struct {
	// URL is a PostgreSQL connection URL, postgres://user:pass@host/db.
	URL string `toml:"url"`
	// Timeout is the most a scan or an exit waits for the store before the
	// lane decides offline from its own ledger.
	Timeout time.Duration `toml:"timeout"`
}

// Enabled reports whether a site store is configured.
func (s SiteStore) Enabled() bool { return s.URL != "" }

// Lane holds the lane's own timings.
type Lane struct {
	// Notice is how long a notice (invalid ticket, ...) stays on screen.
	Notice time.Duration `toml:"notice"`
	// Opened is how long the "barrier opening" screen stays after a pulse
	// when no loop reports the vehicle.
	Opened time.Duration `toml:"opened"`
	// Language is the driver screens' language at rest: "en" or "ar"
	// (drivers can switch on screen; it returns to this after each visit).
	Language string `toml:"language"`
}

// Admin configures the attendant screen.
type Admin struct {
	LockoutAttempts int           `toml:"lockout_attempts"`
	Lockout         time.Duration `toml:"lockout"`
	IdleTimeout     time.Duration `toml:"idle_timeout"`
	Reasons         []string      `toml:"reasons"`
	Attendants      []Attendant   `toml:"attendants"`
}

// Display describes the kiosk's panel, so that text and touch targets
// keep their physical minimum sizes (capital letters 4 mm high, buttons
// 10 mm) at any resolution. Give one of the two; with neither, the screens
// assume DefaultDPI.
type Display struct {
	// DiagonalInches is the visible diagonal of the panel, from its data
	// sheet; with the screen's pixel size it gives the density.
	DiagonalInches float64 `toml:"diagonal_inches"`
	// DPI is the panel's density in pixels per inch.
	DPI float64 `toml:"dpi"`
}

// DefaultDPI is the density assumed when [display] gives neither the
// diagonal nor the density: that of a 15.6-inch 1920x1080 or a 7-inch
// 800x480 panel, the denser kiosk panels, so that text is never too small.
const DefaultDPI = 140

// Attendant is one person who may use the admin screen.
type Attendant struct {
	ID   string `toml:"id"`
	Name string `toml:"name"`
	// PINHash is a bcrypt hash made by "exitlane admin add-attendant".
	PINHash string `toml:"pin_hash"`
	// Badge is the code on the attendant's badge, scanned to open admin.
	Badge string `toml:"badge"`
}

// Metrics configures the listener of /metrics (Prometheus' text format),
// /healthz and /readyz. It is off by default: the figures say who paid
// what and when, so they are served only where configured.
type Metrics struct {
	// Listen is the listener's address, like "127.0.0.1:9464"; empty:
	// none. An address other than loopback must name its host
	// ("0.0.0.0:9464", or one interface's address): ":9464" is refused.
	Listen string `toml:"listen"`
}

// Office configures the site's office server ("exitlane office --config
// site.toml"): PayBy's one notification endpoint for every lane of the
// site, recorded in the site store and announced to the lanes.
type Office struct {
	// Listen is the server's address (default "127.0.0.1:8480"). Plain
	// HTTP only on loopback (behind a TLS proxy); on any other address,
	// TLSCertFile and TLSKeyFile are required.
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile are the certificate chain and its key
	// (PEM); both or neither.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// NotifyPath is the path of PayBy's notifications, the path of every
	// lane's [payby] notify_url (default "/payby/notify").
	NotifyPath string `toml:"notify_path"`
	// PayByPublicKeyFile is PayBy's RSA public key (PEM): it verifies
	// every notification on its raw body before anything else.
	PayByPublicKeyFile string `toml:"payby_public_key_file"`
	// NotifyReply is "json" ({"response":"SUCCESS"}, the default) or
	// "plain" (the bare word SUCCESS), as [payby] notify_reply.
	NotifyReply string `toml:"notify_reply"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}
