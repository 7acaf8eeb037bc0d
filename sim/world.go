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
	"github.com/exitlane/exitlane/internal/pgcluster"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/sitestore"
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
	// own, the lanes'; nil discards them.
	Logger *slog.Logger
	// Lanes is how many lanes of one site share the sandbox and the site
	// store: X1, X2, ... (0: one, X1). Each has its own pty scanner and
	// relay board and its own SQLite ledger.
	Lanes int
	// StoreURL is the site store (PostgreSQL) the lanes join; the world
	// migrates it. Empty with several lanes: the world starts a cluster of
	// its own in Dir/pg (the PostgreSQL server binaries must be installed:
	// ErrNoPostgres otherwise) and stops it at Close. Empty with one lane:
	// no site store, the lane alone, as today.
	StoreURL string
	// Printer, 58 or 80, adds a receipt printer of that paper width to
	// every lane (a Printer emulator on a pty, [printer] in the config)
	// and makes the site a VAT-registered one (5 % VAT, a TRN), so
	// receipts are simplified tax invoices; 0: no printer.
	Printer int
	// AutoPrint prints every paid exit's receipt (printer.auto_print).
	AutoPrint bool
}

// MaxLanes is the most lanes a world simulates.
const MaxLanes = 16

// ErrNoPostgres: several lanes need a site store, no StoreURL was given
// and the PostgreSQL server binaries are not installed.
var ErrNoPostgres = errors.New("sim: several lanes share a PostgreSQL site store: install the PostgreSQL server (Debian: apt-get install postgresql) or give its URL (--store)")

// World is everything around the simulated lanes of one site: the PayBy
// sandbox (and the proxy that can cut it off), each lane's pty scanner and
// LCUS relay board and config, the keys, and the site store shared by the
// lanes (a cluster of the world's own, or a given URL). Open opens the
// lanes; the World implements ui.SimControls for the developer simulation
// panel, acting at the lane chosen with SetLane (lane 1 at first).
type World struct {
	dir       string
	temp      bool
	sb        *sandbox.Server
	srv       *http.Server
	publicURL string
	proxy     *payByProxy
	issuer    *ticket.Signed
	log       *slog.Logger
	lanes     []*WorldLane
	cluster   *pgcluster.Cluster // nil: none of the world's own
	storeURL  string             // "": no site store

	serial  atomic.Uint64
	onFrame atomic.Pointer[func()]

	mu   sync.Mutex
	cur  int    // the lane the panel's controls act at
	last string // last valid code presented, for "already used"
	mode ui.PayByMode
}

// WorldLane is one lane of the world: its devices, its config and, once
// the world is open, its station.
type WorldLane struct {
	id      string
	cfgPath string
	cfg     *config.Config
	scanner *Scanner
	relay   *Relay
	st      *station.Station
	r       *lane.Runner

	printer *Printer // nil: no printer

	scanIn, relayIn bool // under World.mu

	mu       sync.Mutex
	receipts []Printout // printed receipts, oldest first
}

// Printer is the lane's receipt-printer emulator (nil: none).
func (l *WorldLane) Printer() *Printer { return l.printer }

// Receipts returns the receipts the lane printed so far, oldest first.
func (l *WorldLane) Receipts() []Printout {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Printout(nil), l.receipts...)
}

// ID is the lane's site.lane (X1, X2, ...).
func (l *WorldLane) ID() string { return l.id }

// Config is the lane's config (with the simulation's attendant).
func (l *WorldLane) Config() *config.Config { return l.cfg }

// ConfigPath is the config file the world wrote for the lane.
func (l *WorldLane) ConfigPath() string { return l.cfgPath }

// Scanner is the lane's scanner emulator.
func (l *WorldLane) Scanner() *Scanner { return l.scanner }

// Relay is the lane's relay-board emulator.
func (l *WorldLane) Relay() *Relay { return l.relay }

// Runner is the lane's runner (nil before Open).
func (l *WorldLane) Runner() *lane.Runner { return l.r }

// Station is the lane's station (nil before Open).
func (l *WorldLane) Station() *station.Station { return l.st }

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
	n := o.Lanes
	if n == 0 {
		n = 1
	}
	if n < 1 || n > MaxLanes {
		return nil, fmt.Errorf("sim: %d lanes: between 1 and %d", o.Lanes, MaxLanes)
	}
	w := &World{dir: o.Dir, log: o.Logger, mode: ui.PayByOK, storeURL: o.StoreURL}
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
	if w.issuer, err = ticket.NewSigned("SIM", tkey, ticket.DefaultTolerance); err != nil {
		return nil, err
	}
	if w.storeURL == "" && n > 1 {
		if err = w.startStore(); err != nil {
			return nil, err
		}
	}
	if w.storeURL != "" {
		if err = migrateStore(w.storeURL); err != nil {
			return nil, err
		}
	}
	hash, err := ui.HashPIN(PIN)
	if err != nil {
		return nil, err
	}
	for i := range n {
		l := &WorldLane{id: fmt.Sprintf("X%d", i+1), scanIn: true, relayIn: true}
		w.lanes = append(w.lanes, l)
		if l.scanner, err = NewScanner(ScannerOptions{}); err != nil {
			return nil, err
		}
		if l.relay, err = NewRelay("lcus", RelayOptions{OnFrame: func(Frame) { w.relayFrame() }}); err != nil {
			return nil, err
		}
		if o.Printer != 0 {
			if l.printer, err = NewPrinter(PrinterOptions{Width: o.Printer, OnPrintout: func(p Printout) { w.printout(l, p) }}); err != nil {
				return nil, err
			}
		}
		// Lane 1 keeps the one-lane world's file names.
		cfgName, ledgerName := "sim.toml", "lane.db"
		if i > 0 {
			cfgName, ledgerName = "sim-"+l.id+".toml", "lane-"+l.id+".db"
		}
		lc := LaneConfig{Lane: l.id, PayByURL: "http://" + w.proxy.Addr() + sandbox.APIPrefix,
			Scanner: l.scanner.Path(), Relay: l.relay.Path(), Ledger: ledgerName, StoreURL: w.storeURL}
		if l.printer != nil {
			lc.Printer, lc.PrinterWidth, lc.AutoPrint = l.printer.Path(), l.printer.Width(), o.AutoPrint
		}
		l.cfgPath = filepath.Join(w.dir, cfgName)
		if err = WriteLaneConfig(l.cfgPath, lc); err != nil {
			return nil, err
		}
		if l.cfg, err = config.Load(l.cfgPath); err != nil {
			return nil, err
		}
		// Added here rather than in the file: config.Load does not yet accept
		// [[admin.attendants]] tables (reported to the config owner).
		l.cfg.Admin.Attendants = append(l.cfg.Admin.Attendants, config.Attendant{ID: Attendant, Name: "Simulation attendant", PINHash: hash})
	}
	return w, nil
}

// printout keeps a receipt lane l's emulator cut, and saves it beside the
// ledger as text and PNG (receipt-NNN.txt, .png for lane X1,
// receipt-X2-NNN.txt, ... for the others) for the developer. An emulator
// delivers printouts one at a time, in order.
func (w *World) printout(l *WorldLane, p Printout) {
	l.mu.Lock()
	n := len(l.receipts) + 1
	l.mu.Unlock()
	name := fmt.Sprintf("receipt-%03d", n)
	if l != w.lanes[0] {
		name = fmt.Sprintf("receipt-%s-%03d", l.id, n)
	}
	base := filepath.Join(w.dir, name)
	err := os.WriteFile(base+".txt", []byte(p.Text), 0o600)
	if err == nil {
		var png []byte
		if png, err = p.PNG(); err == nil {
			err = os.WriteFile(base+".png", png, 0o600)
		}
	}
	if err != nil {
		w.log.Warn("sim: receipt not saved", "lane", l.id, "err", err)
	} else {
		w.log.Info("sim: receipt printed", "lane", l.id, "file", base+".txt")
	}
	l.mu.Lock()
	l.receipts = append(l.receipts, p)
	l.mu.Unlock()
}

// Printer is lane 1's receipt-printer emulator (nil without
// WorldOptions.Printer).
func (w *World) Printer() *Printer { return w.lanes[0].printer }

// Receipts returns the receipts lane 1 printed so far, oldest first.
func (w *World) Receipts() []Printout { return w.lanes[0].Receipts() }

// LastReceipt is the text of the last receipt lane 1 printed ("": none
// yet), as the emulator renders it.
func (w *World) LastReceipt() string {
	r := w.Receipts()
	if len(r) == 0 {
		return ""
	}
	return r[len(r)-1].Text
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

// startStore starts the world's own PostgreSQL cluster in Dir/pg (kept
// with a --data directory, removed with a temporary one) and creates the
// site's database.
func (w *World) startStore() error {
	if _, err := pgcluster.BinDir(); err != nil {
		return ErrNoPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*pgcluster.StartTimeout)
	defer cancel()
	if os.Geteuid() == 0 {
		// As root the server runs as postgres, which must pass through
		// the world's directory (its files stay 0600).
		if err := os.Chmod(w.dir, 0o711); err != nil {
			return err
		}
	}
	dir := filepath.Join(w.dir, "pg")
	c, err := pgcluster.New(ctx, pgcluster.Options{Dir: dir})
	if errors.Is(err, pgcluster.ErrUnreachable) {
		// A parent of the data directory is closed to postgres (/root).
		w.log.Warn("the postgres user cannot reach the data directory; the site store is a throwaway cluster in a temporary directory", "err", err)
		os.Remove(dir) // empty
		c, err = pgcluster.New(ctx, pgcluster.Options{})
	}
	if err != nil {
		return fmt.Errorf("sim: site store: %w", err)
	}
	w.cluster = c
	if w.storeURL, err = c.EnsureDB(ctx, "exitlane_sim"); err != nil {
		return fmt.Errorf("sim: site store: %w", err)
	}
	w.log.Info("site store started", "dir", c.Dir(), "port", c.Port())
	return nil
}

// migrateStore brings the site store's schema up to date.
func migrateStore(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := sitestore.New(url, sitestore.Options{Site: "SIM"})
	if err != nil {
		return fmt.Errorf("sim: site store: %w", err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("sim: site store: %w", err)
	}
	return nil
}

// Open opens the world's lanes (station.Open on each lane's config). o is
// lane 1's options (the kiosk's badge filter, a failpoint, a trace); the
// other lanes get only its logger. The logger defaults to the world's.
func (w *World) Open(ctx context.Context, o station.Options) error {
	if w.lanes[0].st != nil {
		return errors.New("sim: the lanes are already open")
	}
	if o.Logger == nil {
		o.Logger = w.log
	}
	for i, l := range w.lanes {
		lo := o
		if i > 0 {
			lo = station.Options{Logger: o.Logger}
		}
		st, err := station.Open(ctx, l.cfg, lo)
		if err != nil {
			return fmt.Errorf("lane %s: %w", l.id, err)
		}
		l.st, l.r = st, st.Runner()
	}
	return nil
}

// Runner is lane 1's runner (nil before Open).
func (w *World) Runner() *lane.Runner { return w.lanes[0].r }

// Lanes are the world's lanes, X1 first.
func (w *World) Lanes() []*WorldLane { return w.lanes }

// Lane is lane id (nil: none).
func (w *World) Lane(id string) *WorldLane {
	for _, l := range w.lanes {
		if l.id == id {
			return l
		}
	}
	return nil
}

// StoreURL is the site store the lanes join ("": none).
func (w *World) StoreURL() string { return w.storeURL }

// StoreCluster is the world's own PostgreSQL cluster (nil: none, or a
// store given by URL).
func (w *World) StoreCluster() *pgcluster.Cluster { return w.cluster }

// Run runs the open lanes until ctx ends (see station.Station.Run).
func (w *World) Run(ctx context.Context) error {
	if w.lanes[0].st == nil {
		return errNoLane
	}
	errs := make([]error, len(w.lanes))
	var wg sync.WaitGroup
	for i, l := range w.lanes {
		wg.Go(func() { errs[i] = l.st.Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

var errNoLane = errors.New("sim: no lane open")

// Running names the parts of the lanes that have not stopped (see
// station.Station.Running), each prefixed with its lane when there are
// several; none before Open.
func (w *World) Running() []string {
	var parts []string
	for _, l := range w.lanes {
		if l.st == nil {
			continue
		}
		for _, p := range l.st.Running() {
			if len(w.lanes) > 1 {
				p = l.id + " " + p
			}
			parts = append(parts, p)
		}
	}
	return parts
}

// Close stops and closes the lanes, then the site store's cluster, the
// sandbox, the proxy and the emulators, and removes a temporary directory.
func (w *World) Close() error {
	var errs []error
	for _, l := range w.lanes {
		if l.st != nil {
			errs = append(errs, l.st.Close())
		}
	}
	if w.cluster != nil {
		errs = append(errs, w.cluster.Close())
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
	for _, l := range w.lanes {
		if l.scanner != nil {
			l.scanner.Close()
		}
		if l.relay != nil {
			l.relay.Close()
		}
		if l.printer != nil {
			l.printer.Close()
		}
	}
	if w.temp && w.dir != "" {
		os.RemoveAll(w.dir)
	}
	return errors.Join(errs...)
}

// Dir is where the world keeps its keys, configs and ledgers.
func (w *World) Dir() string { return w.dir }

// Config is lane 1's config (with the simulation's attendant).
func (w *World) Config() *config.Config { return w.lanes[0].cfg }

// ConfigPath is lane 1's config file (without the attendant, which config
// files cannot yet declare).
func (w *World) ConfigPath() string { return w.lanes[0].cfgPath }

// SandboxURL is the sandbox's public base URL (orders and checkout links
// on its front page).
func (w *World) SandboxURL() string { return w.publicURL }

// Sandbox is the PayBy sandbox.
func (w *World) Sandbox() *sandbox.Server { return w.sb }

// Scanner is lane 1's scanner emulator.
func (w *World) Scanner() *Scanner { return w.lanes[0].scanner }

// Relay is lane 1's relay-board emulator.
func (w *World) Relay() *Relay { return w.lanes[0].relay }

// Issue issues a signed ticket of the simulated site, entry lane E1.
func (w *World) Issue(serial uint64, entry time.Time) (string, error) {
	return w.issuer.Issue("E1", serial, entry)
}

// OnRelayFrame sets f to be called after every frame a relay board
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

// PrintCheckouts prints each new order's checkout URL (the QR's content),
// at every lane, until ctx ends, so a developer can open it in a browser
// or on a phone. The order number names its lane.
func (w *World) PrintCheckouts(ctx context.Context, out io.Writer) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range w.lanes {
		if l.r == nil {
			continue
		}
		ch, cancel := l.r.Subscribe()
		wg.Go(func() {
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
						mu.Lock()
						fmt.Fprintf(out, "checkout for %s (%s): %s\n", s.MerchantOrderNo, s.Due, s.TokenURL)
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
}
