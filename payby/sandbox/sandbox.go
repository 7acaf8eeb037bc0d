// Package sandbox is a PayBy-compatible server for development, demos and
// tests: the same paths, envelopes, signatures and business rules as PayBy's
// acquiring API for DYNQR orders, a checkout page behind every tokenUrl
// (Pay and Decline buttons that work in any browser and on a phone), signed
// notifications with PayBy's retry schedule scaled down, and switches for
// the failures a lane must survive.
//
// A Server is an http.Handler. Mount it at the root of a listener; the API
// is then at <base>/sgs/api, the checkout page at <base>/pay-page/main, and
// the admin endpoints at <base>/sandbox/admin/.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/internal/wire"
)

// APIPrefix is where the API lives, so a client's base URL is
// "http://host:port" + APIPrefix.
const APIPrefix = "/sgs/api"

// Errors of the Go API (Pay, Decline, ...).
var (
	ErrNotFound   = errors.New("sandbox: no such order")
	ErrNotPayable = errors.New("sandbox: order is not open for payment")
)

// RequestWindow is how far requestTime may be from the server's clock.
const RequestWindow = 15 * time.Minute

// notifySchedule is PayBy's documented retry schedule after the first
// attempt (docs/payby-reference.md §13), divided by Options.NotifyScale.
var notifySchedule = []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute, 60 * time.Minute, 120 * time.Minute, 360 * time.Minute, 900 * time.Minute}

// Options configure a Server. Key and MerchantKey are required.
type Options struct {
	// Key is the sandbox's own ("PayBy's") private key: it signs every
	// response and notification. Merchants verify with its public half.
	Key *rsa.PrivateKey
	// MerchantKey verifies the merchant's request signatures.
	MerchantKey *rsa.PublicKey
	// PartnerID, if set, is the only Partner-Id accepted.
	PartnerID string
	// PublicURL is the base of tokenUrl links ("http://192.168.1.20:8089"),
	// for phones on the LAN. Empty: built from each request's Host header.
	PublicURL string
	// MerchantName is shown on the checkout page when an order names none.
	MerchantName string
	// NotifyScale divides PayBy's notification retry intervals (2, 10, 10,
	// 60, 120, 360, 900 minutes). Default 60: 2 s, 10 s, ...
	NotifyScale int
	// DataFile keeps orders across restarts; empty: memory only.
	DataFile string
	// PayerMask is the masked mobile number reported once the checkout
	// page was opened (default "+971-50*00").
	PayerMask string
	Now       func() time.Time
	Logger    *slog.Logger
	// HTTP delivers notifications (default: 5 s timeout).
	HTTP   *http.Client
	Faults Faults
}

// Server is a PayBy sandbox. It is safe for concurrent use.
type Server struct {
	o      Options
	mux    *http.ServeMux
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	st      state
	faults  Faults
	byNo    map[string]*record // PayBy orderNo -> record
	byToken map[string]*record
	refByNo map[string]*refundRecord
	servers []*http.Server
}

// state is what DataFile holds.
type state struct {
	Seq     int64                    `json:"seq"`
	Orders  map[string]*record       `json:"orders"`  // by merchantOrderNo
	Refunds map[string]*refundRecord `json:"refunds"` // by refundMerchantOrderNo
}

type record struct {
	Order wire.AcquireOrder `json:"order"`
	// Canon is the canonical JSON of the creating bizContent: an identical
	// re-create returns the order, a different one is 62016.
	Canon     string     `json:"canon"`
	Token     string     `json:"token"`
	Scanned   bool       `json:"scanned"`
	OneTime   bool       `json:"oneTime"`
	Declines  int        `json:"declines"`
	Refunded  money.Fils `json:"refunded"`
	Notified  int        `json:"notified"` // notifications acknowledged
	NotifyErr string     `json:"notifyErr,omitempty"`
}

type refundRecord struct {
	Refund wire.RefundOrder `json:"refund"`
	Canon  string           `json:"canon"`
}

// New makes a server. With DataFile set it loads the orders kept there.
func New(o Options) (*Server, error) {
	if o.Key == nil || o.MerchantKey == nil {
		return nil, errors.New("sandbox: new: Key and MerchantKey are required")
	}
	if o.MerchantName == "" {
		o.MerchantName = "Sandbox Merchant"
	}
	if o.NotifyScale <= 0 {
		o.NotifyScale = 60
	}
	if o.PayerMask == "" {
		o.PayerMask = "+971-50*00"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	s := &Server{
		o:       o,
		faults:  o.Faults,
		st:      state{Orders: map[string]*record{}, Refunds: map[string]*refundRecord{}},
		byNo:    map[string]*record{},
		byToken: map[string]*record{},
		refByNo: map[string]*refundRecord{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if o.DataFile != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(APIPrefix+"/", s.serveAPI)
	s.mux.HandleFunc("/pay-page/main", s.serveCheckout)
	s.mux.HandleFunc("/sandbox/admin/", s.serveAdmin)
	s.mux.HandleFunc("/{$}", s.serveIndex)
	return s, nil
}

// ServeHTTP serves the API, the checkout page and the admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start listens on addr ("127.0.0.1:0" for any free port) and serves in
// the background until Close. It returns the base URL of the server; the
// client's base URL is that plus APIPrefix.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sandbox: start: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Close stops the servers made by Start and the notification deliveries
// in flight, and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		srv.Close()
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Server) load() error {
	data, err := os.ReadFile(s.o.DataFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sandbox: load: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("sandbox: load %s: %w", s.o.DataFile, err)
	}
	if st.Orders == nil {
		st.Orders = map[string]*record{}
	}
	if st.Refunds == nil {
		st.Refunds = map[string]*refundRecord{}
	}
	s.st = st
	for _, rec := range st.Orders {
		s.byNo[rec.Order.OrderNo] = rec
		s.byToken[rec.Token] = rec
	}
	for _, rr := range st.Refunds {
		s.refByNo[rr.Refund.OrderNo] = rr
	}
	return nil
}

// saveLocked writes the state file atomically; s.mu is held.
func (s *Server) saveLocked() {
	if s.o.DataFile == "" {
		return
	}
	data, err := json.MarshalIndent(&s.st, "", "  ")
	if err == nil {
		tmp := s.o.DataFile + ".tmp"
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, s.o.DataFile)
		}
	}
	if err != nil {
		s.o.Logger.Error("sandbox: saving orders failed", "file", s.o.DataFile, "err", err)
	}
}

func (s *Server) nextSeqLocked() int64 {
	s.st.Seq++
	return s.st.Seq
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// refreshLocked applies expiry: a CREATED order past its expiredTime is
// FAILURE.
func (s *Server) refreshLocked(rec *record) {
	o := &rec.Order
	if o.Status == string(payby.StatusCreated) && o.ExpiredTime != 0 && s.o.Now().UnixMilli() >= o.ExpiredTime {
		o.Status = string(payby.StatusFailure)
		o.FailCode, o.FailDes = "ORDER_EXPIRED", "order expired"
		s.saveLocked()
	}
}

// OrderInfo is an order as the sandbox shows it to developers.
type OrderInfo struct {
	payby.Order
	TokenURL string     `json:"tokenUrl"` // relative to the server when PublicURL is empty
	Scanned  bool       `json:"scanned"`
	Declines int        `json:"declines"`
	Refunded money.Fils `json:"refunded"`
	Notified int        `json:"notified"`
}

func (s *Server) infoLocked(rec *record, base string) OrderInfo {
	o := orderOf(&rec.Order)
	return OrderInfo{Order: *o, TokenURL: s.tokenURL(base, rec), Scanned: rec.Scanned, Declines: rec.Declines, Refunded: rec.Refunded, Notified: rec.Notified}
}

func orderOf(w *wire.AcquireOrder) *payby.Order {
	o := &payby.Order{
		MerchantOrderNo: w.MerchantOrderNo,
		OrderNo:         w.OrderNo,
		Status:          payby.Status(w.Status),
		Amount:          w.TotalAmount.Fils(),
		Revoked:         w.Revoked == "true",
		Subject:         w.Subject,
		Reserved:        w.Reserved,
		NotifyURL:       w.NotifyURL,
		FailCode:        w.FailCode,
		FailDes:         w.FailDes,
	}
	if w.RequestTime != 0 {
		o.RequestTime = time.UnixMilli(w.RequestTime).UTC()
	}
	if w.ExpiredTime != 0 {
		o.ExpiredTime = time.UnixMilli(w.ExpiredTime).UTC()
	}
	if t := w.AccessoryContent; t != nil && t.TerminalDetail != nil {
		o.StoreID, o.TerminalID = t.TerminalDetail.StoreID, t.TerminalDetail.TerminalID
	}
	if p := w.PaymentInfo; p != nil {
		o.PaidAmount = p.PaidAmount.Fils()
		o.PayChannel, o.PayerMID = p.PayChannel, p.PayerMid
		if p.PaidTime != 0 {
			o.PaidTime = time.UnixMilli(p.PaidTime).UTC()
		}
	}
	return o
}

func (s *Server) tokenURL(base string, rec *record) string {
	if s.o.PublicURL != "" {
		base = s.o.PublicURL
	}
	return fmt.Sprintf("%s/pay-page/main?BIZ_TYPE=202&ft=%s&t=%d", base, rec.Token, rec.Order.RequestTime)
}

// Orders returns every order, newest first.
func (s *Server) Orders() []OrderInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OrderInfo, 0, len(s.st.Orders))
	for _, rec := range s.st.Orders {
		s.refreshLocked(rec)
		out = append(out, s.infoLocked(rec, ""))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestTime.Equal(out[j].RequestTime) {
			return out[i].RequestTime.After(out[j].RequestTime)
		}
		return out[i].OrderNo > out[j].OrderNo
	})
	return out
}

// Order returns one order.
func (s *Server) Order(merchantOrderNo string) (OrderInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.st.Orders[merchantOrderNo]
	if !ok {
		return OrderInfo{}, fmt.Errorf("%w: %s", ErrNotFound, merchantOrderNo)
	}
	s.refreshLocked(rec)
	return s.infoLocked(rec, ""), nil
}

func (s *Server) find(merchantOrderNo string) (*record, error) {
	rec, ok := s.st.Orders[merchantOrderNo]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, merchantOrderNo)
	}
	s.refreshLocked(rec)
	return rec, nil
}

// Pay pays an open order as the driver's app would: it becomes
// PAID_SUCCESS and the signed notification goes to its notifyUrl.
func (s *Server) Pay(merchantOrderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.find(merchantOrderNo)
	if err != nil {
		return err
	}
	return s.payLocked(rec)
}

func (s *Server) payLocked(rec *record) error {
	o := &rec.Order
	if o.Status != string(payby.StatusCreated) {
		return fmt.Errorf("%w: %s is %s", ErrNotPayable, o.MerchantOrderNo, o.Status)
	}
	o.Status = string(payby.StatusPaidSuccess)
	o.PaymentInfo = &wire.PaymentInfo{PaidAmount: o.TotalAmount, PaidTime: s.o.Now().UnixMilli(), PayChannel: "BALANCE", PayerMid: "100000001234"}
	rec.Scanned = true
	s.saveLocked()
	s.o.Logger.Info("sandbox: order paid", "merchant_order_no", o.MerchantOrderNo)
	s.notifyLocked(rec)
	return nil
}

// Decline is a failed payment attempt. The order stays CREATED (the payer
// may try again) unless it was created with oneTimePayment "true", when it
// becomes FAILURE. It returns the order's status afterwards.
func (s *Server) Decline(merchantOrderNo string) (payby.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.find(merchantOrderNo)
	if err != nil {
		return "", err
	}
	o := &rec.Order
	if o.Status != string(payby.StatusCreated) {
		return payby.Status(o.Status), fmt.Errorf("%w: %s is %s", ErrNotPayable, merchantOrderNo, o.Status)
	}
	rec.Declines++
	rec.Scanned = true
	if rec.OneTime {
		o.Status = string(payby.StatusFailure)
		o.FailCode, o.FailDes = "PAYMENT_FAILED", "payment declined"
	}
	s.saveLocked()
	return payby.Status(o.Status), nil
}

// Scan marks an order's QR as scanned (what opening the checkout page
// does), so getCashierUrlInfo reports a payer.
func (s *Server) Scan(merchantOrderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.find(merchantOrderNo)
	if err != nil {
		return err
	}
	rec.Scanned = true
	s.saveLocked()
	return nil
}

// Settle moves a PAID_SUCCESS order to SETTLED.
func (s *Server) Settle(merchantOrderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.find(merchantOrderNo)
	if err != nil {
		return err
	}
	if rec.Order.Status != string(payby.StatusPaidSuccess) {
		return fmt.Errorf("%w: %s is %s, not PAID_SUCCESS", ErrNotPayable, merchantOrderNo, rec.Order.Status)
	}
	rec.Order.Status = string(payby.StatusSettled)
	s.saveLocked()
	return nil
}

// Expire ends an open order now, as if its expiredTime had passed.
func (s *Server) Expire(merchantOrderNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.find(merchantOrderNo)
	if err != nil {
		return err
	}
	if rec.Order.Status != string(payby.StatusCreated) {
		return fmt.Errorf("%w: %s is %s", ErrNotPayable, merchantOrderNo, rec.Order.Status)
	}
	rec.Order.ExpiredTime = s.o.Now().UnixMilli()
	s.refreshLocked(rec)
	return nil
}

// SetFaults replaces the fault switches.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.o.Logger.Info("sandbox: faults set", "faults", f.String())
}

// Faults returns the fault switches (with counters as they stand).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// PublicKeyPEM returns the sandbox's public key (what a merchant
// configures as PayBy's public key).
func (s *Server) PublicKeyPEM() ([]byte, error) { return payby.EncodePublicKey(&s.o.Key.PublicKey) }

// Keys are the files a sandbox uses, from LoadKeyDir.
type Keys struct {
	Key          *rsa.PrivateKey
	MerchantKey  *rsa.PublicKey
	PrivatePath  string // the sandbox's private key
	PublicPath   string // the sandbox's public key: the lane's payby public_key_file
	MerchantPub  string // the merchant public key in use
	MerchantPriv string // set when the merchant pair was generated here
	Generated    []string
}

// LoadKeyDir loads the sandbox's key pair from dir (payby_private.pem,
// payby_public.pem), generating it on first run. merchantPub names the
// merchant's public key; if empty, dir/merchant_public.pem is used, and a
// merchant pair is generated there on first run for convenience.
func LoadKeyDir(dir, merchantPub string) (*Keys, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // printed paths go into config files
	}
	k := &Keys{PrivatePath: filepath.Join(dir, "payby_private.pem"), PublicPath: filepath.Join(dir, "payby_public.pem")}
	if _, err := os.Stat(k.PrivatePath); errors.Is(err, os.ErrNotExist) {
		if _, _, err := payby.WriteKeyPair(dir, "payby"); err != nil {
			return nil, fmt.Errorf("sandbox keys: %w", err)
		}
		k.Generated = append(k.Generated, k.PrivatePath, k.PublicPath)
	}
	key, err := payby.LoadPrivateKey(k.PrivatePath)
	if err != nil {
		return nil, fmt.Errorf("sandbox keys: %w", err)
	}
	k.Key = key
	if merchantPub == "" {
		merchantPub = filepath.Join(dir, "merchant_public.pem")
		if _, err := os.Stat(merchantPub); errors.Is(err, os.ErrNotExist) {
			priv, pub, err := payby.WriteKeyPair(dir, "merchant")
			if err != nil {
				return nil, fmt.Errorf("sandbox keys: %w", err)
			}
			k.MerchantPriv = priv
			k.Generated = append(k.Generated, priv, pub)
		} else if _, err := os.Stat(filepath.Join(dir, "merchant_private.pem")); err == nil {
			k.MerchantPriv = filepath.Join(dir, "merchant_private.pem")
		}
	}
	k.MerchantPub = merchantPub
	mk, err := payby.LoadPublicKey(merchantPub)
	if err != nil {
		return nil, fmt.Errorf("sandbox keys: %w", err)
	}
	k.MerchantKey = mk
	return k, nil
}
