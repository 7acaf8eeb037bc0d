package sim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/station"
	"github.com/exitlane/exitlane/ticket"
	"github.com/exitlane/exitlane/ui"
)

// The simulation's demo attendant (its PIN is printed at start).
const (
	Attendant = "sim"
	PIN       = "1234"
)

// WorldOptions configure NewWorld. Zero fields mean the defaults.
type WorldOptions struct {
	// Dir keeps the ledger, keys and sandbox orders; default a temporary
	// directory, removed by Close.
	Dir string
	// Listen is the sandbox's address; default 127.0.0.1:0. A LAN address
	// (0.0.0.0:8480) lets a phone open the checkout behind the QR.
	Listen string
	// Logger receives the sandbox's log and, unless Open is given its
	// own, the lane's; nil discards them.
	Logger *slog.Logger
	// Printer, 58 or 80, adds a receipt printer of that paper width (a
	// Printer emulator on a pty, [printer] in the config) and makes the
	// site a VAT-registered one (5 % VAT, a TRN), so receipts are
	// simplified tax invoices; 0: no printer.
	Printer int
	// AutoPrint prints every paid exit's receipt (printer.auto_print).
	AutoPrint bool
}

// World is everything around a simulated lane: the PayBy sandbox (and
// the proxy that can cut it off), the pty scanner and LCUS relay board,
// the keys, and the lane's config. Open opens a lane on it; the World
// implements ui.SimControls for the developer simulation panel.
type World struct {
	dir       string
	temp      bool
	cfgPath   string
	cfg       *config.Config
	sb        *sandbox.Server
	srv       *http.Server
	publicURL string
	proxy     *payByProxy
	scanner   *Scanner
	relay     *Relay
	printer   *Printer // nil: no printer
	issuer    *ticket.Signed
	log       *slog.Logger
	st        *station.Station
	r         *lane.Runner

	serial  atomic.Uint64
	onFrame atomic.Pointer[func()]

	mu       sync.Mutex
	receipts []Printout // printed receipts, oldest first
	last     string     // last valid code presented, for "already used"
	scanIn   bool
	relayIn  bool
	mode     ui.PayByMode
}

// NewWorld makes the keys (or reads them from Dir), starts the sandbox,
// the proxy and the device emulators, and writes the lane's config
// (ConfigPath). No lane runs until Open.
func NewWorld(o WorldOptions) (_ *World, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	w := &World{dir: o.Dir, log: o.Logger, scanIn: true, relayIn: true, mode: ui.PayByOK}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if w.dir == "" {
		if w.dir, err = os.MkdirTemp("", "exitlane-sim-*"); err != nil {
			return nil, err
		}
		w.temp = true
	} else if err = os.MkdirAll(w.dir, 0o700); err != nil {
		return nil, err
	}
	merchant, err := loadOrMakeKey(filepath.Join(w.dir, "merchant.key"))
	if err != nil {
		return nil, err
	}
	sbKey, err := loadOrMakeKey(filepath.Join(w.dir, "sandbox.key"))
	if err != nil {
		return nil, err
	}
	ppem, err := payby.EncodePublicKey(&sbKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err = os.WriteFile(filepath.Join(w.dir, "payby.pub"), ppem, 0o600); err != nil {
		return nil, err
	}
	tkeyPath := filepath.Join(w.dir, "ticket.key")
	tkeyHex, err := os.ReadFile(tkeyPath)
	if err != nil {
		k := make([]byte, 16)
		rand.Read(k)
		tkeyHex = []byte(hex.EncodeToString(k) + "\n")
		if err = os.WriteFile(tkeyPath, tkeyHex, 0o600); err != nil {
			return nil, err
		}
	}
	tkey, err := hex.DecodeString(strings.TrimSpace(string(tkeyHex)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tkeyPath, err)
	}

	// The sandbox serves on our own listener so its public URL (the
	// tokenUrl in the QR) names the address a phone can reach.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("sandbox listen: %w", err)
	}
	w.publicURL = "http://" + publicAddr(ln.Addr().(*net.TCPAddr))
	opts := sandbox.Options{Key: sbKey, MerchantKey: &merchant.PublicKey, PartnerID: "200000000888", PublicURL: w.publicURL,
		MerchantName: "exitlane simulation", NotifyScale: 60, Logger: o.Logger.With("component", "sandbox")}
	if !w.temp {
		opts.DataFile = filepath.Join(w.dir, "sandbox.json")
	}
	if w.sb, err = sandbox.New(opts); err != nil {
		ln.Close()
		return nil, err
	}
	w.srv = &http.Server{Handler: w.sb, ReadHeaderTimeout: 10 * time.Second}
	go w.srv.Serve(ln)

	// The lane reaches PayBy through a proxy the panel can cut off.
	if w.proxy, err = newPayByProxy(ln.Addr().String()); err != nil {
		return nil, err
	}
	if w.scanner, err = NewScanner(ScannerOptions{}); err != nil {
		return nil, err
	}
	if w.relay, err = NewRelay("lcus", RelayOptions{OnFrame: func(Frame) { w.relayFrame() }}); err != nil {
		return nil, err
	}
	if o.Printer != 0 {
		if w.printer, err = NewPrinter(PrinterOptions{Width: o.Printer, OnPrintout: w.printout}); err != nil {
			return nil, err
		}
	}
	if w.issuer, err = ticket.NewSigned("SIM", tkey, ticket.DefaultTolerance); err != nil {
		return nil, err
	}
	hash, err := ui.HashPIN(PIN)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf(simConfig, "http://"+w.proxy.Addr()+sandbox.APIPrefix, w.scanner.Path(), w.relay.Path())
	if w.printer != nil {
		text = strings.Replace(text, "[ticket]\n", simTaxSite+"[ticket]\n", 1)
		text = strings.Replace(text, "[tariff]\n", "[tariff]\nvat_percent = 5\n", 1)
		text += fmt.Sprintf(simPrinter, w.printer.Path(), w.printer.Width(), o.AutoPrint)
	}
	w.cfgPath = filepath.Join(w.dir, "sim.toml")
	if err = os.WriteFile(w.cfgPath, []byte(text), 0o600); err != nil {
		return nil, err
	}
	if w.cfg, err = config.Load(w.cfgPath); err != nil {
		return nil, err
	}
	// Added here rather than in the file: config.Load does not yet accept
	// [[admin.attendants]] tables (reported to the config owner).
	w.cfg.Admin.Attendants = append(w.cfg.Admin.Attendants, config.Attendant{ID: Attendant, Name: "Simulation attendant", PINHash: hash})
	return w, nil
}

// simConfig is the simulated lane's config: base URL, scanner and relay
// ports.
const simConfig = `# written by "exitlane sim"
[site]
id = "SIM"
lane = "X1"
name = "Simulation Mall Garage"
merchant = "exitlane simulation"
timezone = "Asia/Dubai"
[ticket]
key_file = "ticket.key"
[tariff]
grace = "15m"
exit_grace = "20m"
lost_fee = "150.00"
[[tariff.tables]]
name = "all week"
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"
cap = "50.00"
[payby]
base_url = %q
partner_id = "200000000888"
private_key_file = "merchant.key"
public_key_file = "payby.pub"
poll_interval = "1s"
pay_window = "3m"
timeout = "5s"
[scanner]
port = %q
dedup = "1s"
[relay]
port = %q
board = "lcus"
pulse = "500ms"
[ledger]
path = "lane.db"
[lane]
notice = "6s"
opened = "8s"
`

// simTaxSite makes the simulated site VAT-registered (with a printer):
// receipts are then simplified tax invoices.
const simTaxSite = `address = "Simulation Boulevard, Dubai"
tax_registration_number = "100000000000003"
`

// simPrinter is the [printer] section: port, width, auto_print.
const simPrinter = `[printer]
port = %q
width = %d
auto_print = %t
timeout = "5s"
`

// printout keeps a receipt the emulator cut, and saves it beside the
// ledger as text and PNG (receipt-NNN.txt, .png) for the developer.
// The emulator delivers printouts one at a time, in order.
func (w *World) printout(p Printout) {
	w.mu.Lock()
	n := len(w.receipts) + 1
	w.mu.Unlock()
	base := filepath.Join(w.dir, fmt.Sprintf("receipt-%03d", n))
	err := os.WriteFile(base+".txt", []byte(p.Text), 0o600)
	if err == nil {
		var png []byte
		if png, err = p.PNG(); err == nil {
			err = os.WriteFile(base+".png", png, 0o600)
		}
	}
	if err != nil {
		w.log.Warn("sim: receipt not saved", "err", err)
	} else {
		w.log.Info("sim: receipt printed", "file", base+".txt")
	}
	w.mu.Lock()
	w.receipts = append(w.receipts, p)
	w.mu.Unlock()
}

// Printer is the receipt-printer emulator (nil without WorldOptions.Printer).
func (w *World) Printer() *Printer { return w.printer }

// Receipts returns the receipts printed so far, oldest first.
func (w *World) Receipts() []Printout {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Printout(nil), w.receipts...)
}

// LastReceipt is the text of the last receipt printed ("": none yet), as
// the emulator renders it.
func (w *World) LastReceipt() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.receipts) == 0 {
		return ""
	}
	return w.receipts[len(w.receipts)-1].Text
}

// publicAddr replaces an unspecified listen address (0.0.0.0, ::) with
// the machine's first LAN IPv4 address, so a phone can reach the QR's URL.
func publicAddr(a *net.TCPAddr) string {
	if !a.IP.IsUnspecified() {
		return a.String()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return net.JoinHostPort(n.IP.String(), strconv.Itoa(a.Port))
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
}

func loadOrMakeKey(path string) (*rsa.PrivateKey, error) {
	if _, err := os.Stat(path); err == nil {
		return payby.LoadPrivateKey(path)
	}
	k, err := payby.GenerateKey()
	if err != nil {
		return nil, err
	}
	pem, err := payby.EncodePrivateKey(k)
	if err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, pem, 0o600)
}

// Open opens the world's lane (station.Open on Config), logging to the
// world's logger unless o names another. Run runs it.
func (w *World) Open(ctx context.Context, o station.Options) error {
	if w.st != nil {
		return errors.New("sim: the lane is already open")
	}
	if o.Logger == nil {
		o.Logger = w.log
	}
	st, err := station.Open(ctx, w.cfg, o)
	if err != nil {
		return err
	}
	w.st, w.r = st, st.Runner()
	return nil
}

// Runner is the open lane's runner (nil before Open).
func (w *World) Runner() *lane.Runner { return w.r }

// Run runs the open lane until ctx ends (see station.Station.Run).
func (w *World) Run(ctx context.Context) error {
	if w.st == nil {
		return errNoLane
	}
	return w.st.Run(ctx)
}

var errNoLane = errors.New("sim: no lane open")

// Running names the parts of the lane that have not stopped (see
// station.Station.Running); none before Open.
func (w *World) Running() []string {
	if w.st == nil {
		return nil
	}
	return w.st.Running()
}

// Close stops and closes the lane, then the sandbox, the proxy and the
// emulators, and removes a temporary directory.
func (w *World) Close() error {
	var err error
	if w.st != nil {
		err = w.st.Close()
	}
	if w.srv != nil {
		w.srv.Close()
	}
	if w.sb != nil {
		w.sb.Close()
	}
	if w.proxy != nil {
		w.proxy.Close()
	}
	if w.scanner != nil {
		w.scanner.Close()
	}
	if w.relay != nil {
		w.relay.Close()
	}
	if w.printer != nil {
		w.printer.Close()
	}
	if w.temp && w.dir != "" {
		os.RemoveAll(w.dir)
	}
	return err
}

// Dir is where the world keeps its keys, config and ledger.
func (w *World) Dir() string { return w.dir }

// Config is the lane's config (with the simulation's attendant).
func (w *World) Config() *config.Config { return w.cfg }

// ConfigPath is the config file NewWorld wrote (without the attendant,
// which config files cannot yet declare).
func (w *World) ConfigPath() string { return w.cfgPath }

// SandboxURL is the sandbox's public base URL (orders and checkout links
// on its front page).
func (w *World) SandboxURL() string { return w.publicURL }

// Sandbox is the PayBy sandbox.
func (w *World) Sandbox() *sandbox.Server { return w.sb }

// Scanner is the scanner emulator.
func (w *World) Scanner() *Scanner { return w.scanner }

// Relay is the relay-board emulator.
func (w *World) Relay() *Relay { return w.relay }

// Issue issues a signed ticket of the simulated site, entry lane E1.
func (w *World) Issue(serial uint64, entry time.Time) (string, error) {
	return w.issuer.Issue("E1", serial, entry)
}

// OnRelayFrame sets f to be called after every frame the relay board
// receives (the panel redraws: relay frames arrive between snapshots); nil
// removes it. f runs on the emulator's goroutine and must not block.
func (w *World) OnRelayFrame(f func()) {
	if f == nil {
		w.onFrame.Store(nil)
		return
	}
	w.onFrame.Store(&f)
}

func (w *World) relayFrame() {
	if f := w.onFrame.Load(); f != nil {
		(*f)()
	}
}

// PrintCheckouts prints each new order's checkout URL (the QR's content)
// until ctx ends, so a developer can open it in a browser or on a phone.
func (w *World) PrintCheckouts(ctx context.Context, out io.Writer) {
	if w.r == nil {
		return
	}
	ch, cancel := w.r.Subscribe()
	defer cancel()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-ch:
			if !ok {
				return
			}
			if s.TokenURL != "" && s.TokenURL != last {
				last = s.TokenURL
				fmt.Fprintf(out, "checkout for %s (%s): %s\n", s.MerchantOrderNo, s.Due, s.TokenURL)
			}
		}
	}
}
