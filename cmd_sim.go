package main

// "exitlane sim": the whole lane with no config and no hardware. A PayBy
// sandbox on loopback (or --listen, so a phone on the LAN can pay), pty
// emulators of the scanner and the relay board, a fresh ledger in a
// temporary directory (or --data), the kiosk in a window and the
// developer simulation panel in a second one.

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
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/ticket"
	"github.com/exitlane/exitlane/ui"
)

func init() {
	register(command{name: "sim", summary: "the whole lane in simulation: sandbox PayBy, pty devices, kiosk and simulation panel", run: runSim})
}

// Demo attendant of the simulation (PIN printed at start).
const (
	simAttendant = "sim"
	simPIN       = "1234"
)

func runSim(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sim", stderr)
	data := fs.String("data", "", "keep the ledger, keys and sandbox orders in `DIR` (default: a temporary directory, removed at exit)")
	listen := fs.String("listen", "127.0.0.1:0", "`address` of the PayBy sandbox; a LAN address (e.g. 0.0.0.0:8480) lets a phone open the checkout")
	size := fs.String("size", "1280x720", "kiosk window `WxH` (1920x1080, 1080x1920, 800x480...)")
	full := fs.Bool("fullscreen", false, "kiosk window fullscreen")
	lang := fs.String("lang", "en", "default language of the driver screens: en or ar")
	headless := fs.Bool("headless", false, "no windows: run the simulated lane and log (for soak tests)")
	noPanel := fs.Bool("no-panel", false, "only the kiosk window, no simulation panel (measurements, demos on one screen)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane sim [--data DIR] [--listen ADDR] [--size WxH] [--fullscreen] [--lang en|ar] [--headless]")
		fmt.Fprintln(fs.Output(), "\nRuns everything with no config and no hardware: the PayBy sandbox, pty scanner and\nrelay emulators, a fresh ledger, the kiosk window and the simulation panel.\nThe attendant admin (long press on the kiosk's top-left corner) accepts attendant\n\"sim\" with PIN "+simPIN+".")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	var w, h float32
	if _, err := fmt.Sscanf(*size, "%fx%f", &w, &h); err != nil || w < 320 || h < 240 {
		fmt.Fprintf(stderr, "exitlane sim: --size %q: want WxH, e.g. 1920x1080\n", *size)
		return exitUsage
	}
	if *lang != ui.LangEnglish && *lang != ui.LangArabic {
		fmt.Fprintf(stderr, "exitlane sim: --lang %q: en or ar\n", *lang)
		return exitUsage
	}
	var sl slog.Level
	if err := sl.UnmarshalText([]byte(strings.ToUpper(*level))); err != nil {
		fmt.Fprintf(stderr, "exitlane sim: --log-level %q: %v\n", *level, err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: sl}))
	if !*headless {
		if err := haveDisplay(); err != nil {
			fmt.Fprintln(stderr, "exitlane sim:", err)
			return exitFailure
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	world, err := newSimWorld(*data, *listen, logger)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	defer world.Close()

	r, stop, err := startLaneWith(ctx, world.cfg, logger, laneOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	defer stop()
	world.r = r
	fmt.Fprintf(stdout, "exitlane sim: data in %s\n", world.dir)
	fmt.Fprintf(stdout, "PayBy sandbox: %s (orders and checkout links on its front page)\n", world.publicURL)
	fmt.Fprintf(stdout, "scanner pty: %s  relay pty: %s (lcus)\n", world.scanner.Path(), world.relay.Path())
	fmt.Fprintf(stdout, "attendant admin: long press the kiosk's top-left corner; attendant %q, PIN %s\n", simAttendant, simPIN)
	go world.printCheckouts(ctx, stdout)

	if *headless {
		<-ctx.Done()
		return exitOK
	}
	var ctl ui.SimControls = world
	if *noPanel {
		ctl = nil
	}
	err = runDisplay(ctx, world.cfg, logger, r, displayOptions{
		Fullscreen: *full, Size: fyne.NewSize(w, h), Lang: *lang, Sim: ctl,
		OnReady: func(_ fyne.App, _ *ui.Station, panel *ui.SimPanel) {
			world.setPanel(panel)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// simWorld is everything around the simulated lane: sandbox, devices,
// keys, config. It implements ui.SimControls for the panel.
type simWorld struct {
	dir       string
	temp      bool
	cfg       *config.Config
	sb        *sandbox.Server
	srv       *http.Server
	publicURL string
	proxy     *payByProxy
	scanner   *sim.Scanner
	relay     *sim.Relay
	issuer    *ticket.Signed
	log       *slog.Logger
	r         *lane.Runner

	serial atomic.Uint64

	mu        sync.Mutex
	last      string // last valid code presented
	lastKind  ui.TicketKind
	scanIn    bool
	relayIn   bool
	mode      ui.PayByMode
	panel     *ui.SimPanel
	lastError string
}

func newSimWorld(data, listen string, logger *slog.Logger) (_ *simWorld, err error) {
	w := &simWorld{dir: data, log: logger, scanIn: true, relayIn: true, mode: ui.PayByOK}
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
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("sandbox listen: %w", err)
	}
	w.publicURL = "http://" + publicAddr(ln.Addr().(*net.TCPAddr))
	opts := sandbox.Options{Key: sbKey, MerchantKey: &merchant.PublicKey, PartnerID: "200000000888", PublicURL: w.publicURL,
		MerchantName: "exitlane simulation", NotifyScale: 60, Logger: logger.With("component", "sandbox")}
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
	if w.scanner, err = sim.NewScanner(sim.ScannerOptions{}); err != nil {
		return nil, err
	}
	if w.relay, err = sim.NewRelay("lcus", sim.RelayOptions{OnFrame: func(sim.Frame) { w.refreshPanel() }}); err != nil {
		return nil, err
	}
	if w.issuer, err = ticket.NewSigned("SIM", tkey, ticket.DefaultTolerance); err != nil {
		return nil, err
	}
	hash, err := ui.HashPIN(simPIN)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf(simConfig, "http://"+w.proxy.Addr()+sandbox.APIPrefix, w.scanner.Path(), w.relay.Path())
	cfgPath := filepath.Join(w.dir, "sim.toml")
	if err = os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		return nil, err
	}
	if w.cfg, err = config.Load(cfgPath); err != nil {
		return nil, err
	}
	// Added here rather than in the file: config.Load does not yet accept
	// [[admin.attendants]] tables (reported to the config owner).
	w.cfg.Admin.Attendants = append(w.cfg.Admin.Attendants, config.Attendant{ID: simAttendant, Name: "Simulation attendant", PINHash: hash})
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

// Close stops the sandbox and the emulators and removes a temporary dir.
func (w *simWorld) Close() {
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
	if w.temp && w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

func (w *simWorld) setPanel(p *ui.SimPanel) {
	w.mu.Lock()
	w.panel = p
	w.mu.Unlock()
}

// refreshPanel redraws the panel (relay frames arrive between snapshots).
func (w *simWorld) refreshPanel() {
	w.mu.Lock()
	p := w.panel
	w.mu.Unlock()
	if p == nil || w.r == nil {
		return
	}
	s := w.r.Snapshot()
	fyne.Do(func() { p.Show(s) })
}

// printCheckouts prints each new order's checkout URL (the QR's content),
// so a developer can open it in a browser or on a phone.
func (w *simWorld) printCheckouts(ctx context.Context, out io.Writer) {
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

// Present implements ui.SimControls.
func (w *simWorld) Present(kind ui.TicketKind, ago time.Duration) (string, error) {
	now := time.Now()
	switch kind {
	case ui.TicketLost:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return "", w.r.Do(ctx, lane.LostTicket{Attendant: simAttendant, Reason: "simulated lost ticket"})
	case ui.TicketGarbage:
		code := "X7#%QZ-NOT-A-TICKET"
		return code, w.scanner.Send(code)
	case ui.TicketUsed:
		w.mu.Lock()
		code := w.last
		w.mu.Unlock()
		if code == "" {
			return "", errors.New("no ticket presented yet: present a ticket and let it exit first")
		}
		return code, w.scanner.Send(code)
	}
	serial := uint64(now.Unix()%100000)*100 + w.serial.Add(1)%100
	code, err := w.issuer.Issue("E1", serial, now.Add(-ago))
	if err != nil {
		return "", err
	}
	if kind == ui.TicketForged {
		// Move the entry time one hour later, keeping the MAC: a driver
		// who edited the ticket to pay less.
		parts := strings.Split(code, ":")
		if len(parts) == 6 {
			if t, err := strconv.ParseInt(parts[4], 10, 64); err == nil {
				parts[4] = strconv.FormatInt(t+3600, 10)
			}
		}
		code = strings.Join(parts, ":")
	} else {
		w.mu.Lock()
		w.last = code
		w.mu.Unlock()
	}
	w.mu.Lock()
	w.lastKind = kind
	w.mu.Unlock()
	return code, w.scanner.Send(code)
}

// Pay implements ui.SimControls: it presses Pay or Decline on the order's
// checkout page over HTTP, as the driver's phone does.
func (w *simWorld) Pay(decline bool) error {
	s := w.r.Snapshot()
	if s.TokenURL == "" {
		return errors.New("no QR on screen")
	}
	u, err := url.Parse(s.TokenURL)
	if err != nil {
		return err
	}
	action := "pay"
	if decline {
		action = "decline"
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+"/pay-page/main", url.Values{"ft": {u.Query().Get("ft")}, "action": {action}})
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("checkout: %s", resp.Status)
	}
	if !strings.Contains(resp.Header.Get("Location"), "done=") {
		return errors.New("checkout: the order is no longer open for payment")
	}
	return nil
}

// ExpireQR implements ui.SimControls: the order expires at PayBy now.
func (w *simWorld) ExpireQR() error {
	s := w.r.Snapshot()
	if s.MerchantOrderNo == "" || s.State != lane.FeeDue {
		return errors.New("no order open")
	}
	return w.sb.Expire(s.MerchantOrderNo)
}

// VehiclePasses implements ui.SimControls: the loop sees the vehicle
// arrive and leave.
func (w *simWorld) VehiclePasses() error {
	w.r.Loop(true)
	w.r.Loop(false)
	return nil
}

// Plug implements ui.SimControls.
func (w *simWorld) Plug(device string, plugged bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch device {
	case "scanner":
		w.scanIn = plugged
		if !plugged {
			w.scanner.Unplug()
			return nil
		}
		return w.scanner.Replug()
	case "relay":
		w.relayIn = plugged
		if !plugged {
			w.relay.Unplug()
			return nil
		}
		return w.relay.Replug()
	}
	return fmt.Errorf("no device %q", device)
}

// SetPayBy implements ui.SimControls.
func (w *simWorld) SetPayBy(m ui.PayByMode) error {
	f := sandbox.Faults{}
	switch m {
	case ui.PayByOK:
	case ui.PayBySlow:
		f.Latency = 3 * time.Second
	case ui.PayByFailing:
		f.HTTP5xx = sandbox.Always
	case ui.PayByUnreachable:
	default:
		return fmt.Errorf("unknown PayBy mode %q", m)
	}
	w.sb.SetFaults(f)
	w.proxy.SetDown(m == ui.PayByUnreachable)
	w.mu.Lock()
	w.mode = m
	w.mu.Unlock()
	return nil
}

// Status implements ui.SimControls.
func (w *simWorld) Status() ui.SimStatus {
	w.mu.Lock()
	st := ui.SimStatus{SandboxURL: w.publicURL + "/", ScannerPlugged: w.scanIn, RelayPlugged: w.relayIn, PayBy: w.mode,
		LastCode: w.last, LastCodeKind: w.lastKind, LastError: w.lastError, RelayBoard: "lcus",
		ScannerPath: w.scanner.Path(), RelayPath: w.relay.Path(), LedgerPath: w.cfg.Ledger.Path}
	w.mu.Unlock()
	st.RelayOn = w.relay.State(1)
	for _, c := range w.relay.Timeline() {
		if c.Channel == 1 && c.On {
			st.RelayPulses++
		}
	}
	frames := w.relay.Frames()
	for i := len(frames) - 1; i >= 0 && len(st.RelayFrames) < 4; i-- {
		f := frames[i]
		st.RelayFrames = append(st.RelayFrames, fmt.Sprintf("%s  % X  %s", f.At.Format("15:04:05.000"), f.Bytes, f.Desc))
	}
	if w.r != nil {
		s := w.r.Snapshot()
		st.CheckoutURL = s.TokenURL
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		txs, err := w.r.Transactions(ctx, 0, 12)
		if err != nil {
			st.Ledger = []string{"ledger: " + err.Error()}
		}
		for _, t := range txs {
			line := fmt.Sprintf("#%d %s %-7s %s", t.ID, t.At.Local().Format("15:04:05"), t.Kind, t.Ticket)
			if t.Amount != 0 {
				line += " " + t.Amount.String()
			}
			if t.Cause != lane.CauseNone {
				line += " " + t.Cause.String()
			}
			if t.Status != "" {
				line += " " + t.Status
			}
			if t.Attendant != "" {
				line += " by " + t.Attendant
			}
			st.Ledger = append(st.Ledger, line)
		}
	}
	return st
}

// payByProxy forwards TCP connections to the sandbox; SetDown(true) makes
// it drop every connection at once, as an unreachable PayBy would.
type payByProxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newPayByProxy(target string) (*payByProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("payby proxy: %w", err)
	}
	p := &payByProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *payByProxy) Addr() string { return p.ln.Addr().String() }

// SetDown cuts PayBy off (also the client's kept-alive connections) or
// restores it.
func (p *payByProxy) SetDown(down bool) {
	p.down.Store(down)
	if !down {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *payByProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *payByProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not a polite close
			}
			c.Close()
			continue
		}
		p.track(c, true)
		go func() {
			defer p.track(c, false)
			defer c.Close()
			t, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				return
			}
			defer t.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(t, c); done <- struct{}{} }()
			go func() { io.Copy(c, t); done <- struct{}{} }()
			<-done
		}()
	}
}

func (p *payByProxy) Close() {
	p.ln.Close()
	p.wg.Wait()
}
