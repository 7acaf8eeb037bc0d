package main

// "exitlane payby ...": the PayBy sandbox, merchant key generation, and
// order tools for people (create, get, cancel, revoke, refund, refund-get,
// scanned) that print PayBy's answer as indented JSON. See docs/payby.md.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

// paybySubs are the payby subcommands.
func paybySubs() map[string]command {
	return map[string]command{
		"sandbox": {name: "sandbox", summary: "run a PayBy-compatible sandbox server", run: runPayBySandbox},
		"keygen":  {name: "keygen", summary: "write a merchant RSA-2048 key pair: keygen DIR", run: runPayByKeygen},
		"create":  {name: "create", summary: "create a DYNQR order: --order NO --amount 12.50", run: runPayByCreate},
		"get": {name: "get", summary: "show an order: get MERCHANT_ORDER_NO", run: oneArgCmd("get", "MERCHANT_ORDER_NO",
			func(ctx context.Context, cl *payby.Client, no string) (any, error) { return cl.GetOrder(ctx, no) })},
		"cancel": {name: "cancel", summary: "cancel an unpaid order: cancel MERCHANT_ORDER_NO", run: oneArgCmd("cancel", "MERCHANT_ORDER_NO",
			func(ctx context.Context, cl *payby.Client, no string) (any, error) { return cl.CancelOrder(ctx, no) })},
		"revoke": {name: "revoke", summary: "revoke an order (refunds a paid one): revoke MERCHANT_ORDER_NO", run: oneArgCmd("revoke", "MERCHANT_ORDER_NO",
			func(ctx context.Context, cl *payby.Client, no string) (any, error) { return cl.RevokeOrder(ctx, no) })},
		"refund": {name: "refund", summary: "refund a paid order: --refund-no R --order NO --amount A", run: runPayByRefund},
		"refund-get": {name: "refund-get", summary: "show a refund: refund-get REFUND_NO", run: oneArgCmd("refund-get", "REFUND_NO",
			func(ctx context.Context, cl *payby.Client, no string) (any, error) { return cl.GetRefund(ctx, no) })},
		"scanned": {name: "scanned", summary: "has the QR been scanned? scanned TOKEN_URL", run: oneArgCmd("scanned", "TOKEN_URL",
			func(ctx context.Context, cl *payby.Client, url string) (any, error) { return cl.CashierInfo(ctx, url) })},
	}
}

func runPayBy(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("payby", paybySubs(), args, stdin, stdout, stderr)
}

// parseInterleaved parses flags and positional arguments in any order
// ("get NO --config F" as well as "get --config F NO").
func parseInterleaved(fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	for {
		if code, done := parseFlags(fs, args); done {
			return nil, code, true
		}
		if fs.NArg() == 0 {
			return pos, exitOK, false
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// conn holds the connection flags every order tool takes.
type conn struct {
	config, baseURL, partnerID, key, paybyPub string
	timeout                                   time.Duration
	verbose                                   bool
	cfg                                       *config.Config
}

func (c *conn) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "lane config `file` ([payby] and [site] are used)")
	fs.StringVar(&c.baseURL, "base-url", "", "PayBy base `URL`, e.g. "+payby.UATURL+" (overrides the config)")
	fs.StringVar(&c.partnerID, "partner-id", "", "merchant `id` (overrides the config)")
	fs.StringVar(&c.key, "key", "", "merchant private key PEM `file` (overrides the config)")
	fs.StringVar(&c.paybyPub, "payby-pub", "", "PayBy public key PEM `file` (overrides the config)")
	durationVar(fs, &c.timeout, "timeout", 0, "per-call timeout `duration` (default: the config's, else 10s)")
	fs.BoolVar(&c.verbose, "v", false, "log each call to stderr")
}

// client builds a client from the config and flags; flags win.
func (c *conn) client(stderr io.Writer) (*payby.Client, int) {
	if c.config != "" {
		cfg, err := config.Load(c.config)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return nil, exitFailure
		}
		c.cfg = cfg
		p := cfg.PayBy
		c.baseURL = pick(c.baseURL, p.BaseURL)
		c.partnerID = pick(c.partnerID, p.PartnerID)
		c.key = pick(c.key, p.PrivateKeyFile)
		c.paybyPub = pick(c.paybyPub, p.PublicKeyFile)
		if c.timeout == 0 {
			c.timeout = time.Duration(p.Timeout)
		}
	}
	var missing []string
	for _, m := range []struct{ v, name string }{{c.baseURL, "--base-url"}, {c.partnerID, "--partner-id"}, {c.key, "--key"}, {c.paybyPub, "--payby-pub"}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "exitlane payby: give --config FILE or %s\n", strings.Join(missing, ", "))
		return nil, exitUsage
	}
	key, err := payby.LoadPrivateKey(c.key)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby:", err)
		return nil, exitFailure
	}
	pub, err := payby.LoadPublicKey(c.paybyPub)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby:", err)
		return nil, exitFailure
	}
	logger := slog.New(slog.DiscardHandler)
	if c.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cl, err := payby.New(payby.Options{BaseURL: c.baseURL, PartnerID: c.partnerID, Key: key, PayByKey: pub, Timeout: c.timeout, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby:", err)
		return nil, exitFailure
	}
	return cl, exitOK
}

func pick(flagValue, configValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return configValue
}

// printResult prints v as indented JSON, or err with PayBy's details. A
// request the client refused before sending it (an order number PayBy
// would refuse, a zero amount, a subject too long) came from the command
// line: a usage error.
func printResult(v any, err error, stdout, stderr io.Writer) int {
	if v != nil && !isNil(v) {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(v)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "exitlane payby:", err)
	switch {
	case errors.Is(err, payby.ErrInvalidRequest):
		return exitUsage
	case errors.Is(err, payby.ErrAmbiguous):
		fmt.Fprintln(stderr, "  the outcome is unknown: run 'exitlane payby get' for the order before doing anything else")
	case payby.IsAlreadyPaid(err):
		fmt.Fprintln(stderr, "  the order is paid")
	case payby.IsClockSkew(err):
		fmt.Fprintln(stderr, "  this machine's clock is more than 15 minutes off: check NTP")
	case payby.IsSignatureRejected(err):
		fmt.Fprintln(stderr, "  PayBy could not verify our signature: the merchant key does not match the public key uploaded to PayBy")
	case errors.Is(err, payby.ErrBadSignature):
		fmt.Fprintln(stderr, "  the answer's signature does not verify: check the PayBy public key file")
	}
	return exitFailure
}

func isNil(v any) bool {
	switch x := v.(type) {
	case *payby.Order:
		return x == nil
	case *payby.Created:
		return x == nil
	case *payby.Refund:
		return x == nil
	case *payby.Cashier:
		return x == nil
	}
	return false
}

func callContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	return ctx, func() { cancel(); stop() }
}

// oneArgCmd is a command that takes the connection flags and one argument
// (an order or refund number, a tokenUrl), makes one call and prints its
// result as JSON.
func oneArgCmd(op, arg string, call func(ctx context.Context, cl *payby.Client, arg string) (any, error)) func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		fs := newFlags("payby "+op, stderr)
		var c conn
		c.flags(fs)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: exitlane payby %s [--config F | --base-url U --partner-id ID --key F --payby-pub F] %s\n", op, arg)
			fs.PrintDefaults()
		}
		pos, code, done := parseInterleaved(fs, args)
		if done {
			return code
		}
		if len(pos) != 1 {
			fs.Usage()
			return exitUsage
		}
		cl, code := c.client(stderr)
		if cl == nil {
			return code
		}
		ctx, cancel := callContext()
		defer cancel()
		v, err := call(ctx, cl, pos[0])
		return printResult(v, err, stdout, stderr)
	}
}

func runPayByCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("payby create", stderr)
	var c conn
	c.flags(fs)
	no := fs.String("order", "", "merchant order `number` (unique per QR; A-Z a-z 0-9 - _)")
	amount := fs.String("amount", "", "amount in AED, e.g. 12.50")
	subject := fs.String("subject", "", "subject, at most 12 characters (default: the config's, else \"Parking fee\")")
	expire := durationFlag(fs, "expire", 10*time.Minute, "the `duration` for which the order can be paid")
	notify := fs.String("notify-url", "", "notification URL (default: the config's)")
	store := fs.String("store", "", "store id (default: the config's site id)")
	terminal := fs.String("terminal", "", "terminal id (default: the config's lane)")
	oneTime := fs.Bool("one-time", false, "allow one payment attempt only")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane payby create [connection flags] --order NO --amount 12.50 [--subject S] [--expire 10m]")
		fs.PrintDefaults()
	}
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) != 0 || *no == "" || *amount == "" {
		fs.Usage()
		return exitUsage
	}
	fils, err := money.ParseNonNegative(*amount)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby create: --amount:", err)
		return exitUsage
	}
	if *expire <= 0 {
		fmt.Fprintln(stderr, "exitlane payby create: --expire must be more than 0")
		return exitUsage
	}
	cl, code := c.client(stderr)
	if cl == nil {
		return code
	}
	req := payby.CreateOrder{MerchantOrderNo: *no, Amount: fils, Subject: *subject, NotifyURL: *notify, StoreID: *store, TerminalID: *terminal, OneTimePayment: *oneTime}
	if cfg := c.cfg; cfg != nil {
		req.Subject = pick(req.Subject, cfg.PayBy.Subject)
		req.NotifyURL = pick(req.NotifyURL, cfg.PayBy.NotifyURL)
		req.StoreID = pick(req.StoreID, cfg.Site.ID)
		req.TerminalID = pick(req.TerminalID, cfg.Site.Lane)
		req.MerchantName, req.StoreName = cfg.Site.Merchant, cfg.Site.Name
	}
	req.Subject = pick(req.Subject, "Parking fee")
	req.Expire = time.Now().Add(*expire)
	ctx, cancel := callContext()
	defer cancel()
	created, err := cl.CreateOrder(ctx, req)
	return printResult(created, err, stdout, stderr)
}

func runPayByRefund(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("payby refund", stderr)
	var c conn
	c.flags(fs)
	refundNo := fs.String("refund-no", "", "refund `number`, unique per refund")
	no := fs.String("order", "", "merchant order `number` of the payment")
	amount := fs.String("amount", "", "amount to refund in AED, e.g. 5.00")
	reason := fs.String("reason", "", "reason (at most 64 characters)")
	operator := fs.String("operator", "", "who refunds")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane payby refund [connection flags] --refund-no R --order NO --amount 5.00 [--reason TEXT] [--operator NAME]")
		fs.PrintDefaults()
	}
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) != 0 || *refundNo == "" || *no == "" || *amount == "" {
		fs.Usage()
		return exitUsage
	}
	fils, err := money.ParseNonNegative(*amount)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby refund: --amount:", err)
		return exitUsage
	}
	cl, code := c.client(stderr)
	if cl == nil {
		return code
	}
	ctx, cancel := callContext()
	defer cancel()
	r, err := cl.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: *refundNo, OriginMerchantOrderNo: *no, Amount: fils, Reason: *reason, Operator: *operator})
	return printResult(r, err, stdout, stderr)
}

func runPayByKeygen(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("payby keygen", stderr)
	name := fs.String("name", "merchant", "file name prefix: NAME_private.pem, NAME_public.pem")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane payby keygen [--name merchant] DIR\n\nWrites an RSA-2048 key pair: DIR/merchant_private.pem (PKCS#8, mode 0600)\nand DIR/merchant_public.pem (PKIX; upload it in PayBy's merchant portal).\nRun it as \"exitlane payby keygen payby\" next to the config: the example's\n[payby] private_key_file is payby/merchant_private.pem.")
		fs.PrintDefaults()
	}
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	priv, pub, err := payby.WriteKeyPair(pos[0], *name)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby keygen:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "private key: %s (mode 0600; keep it on the lane only)\npublic key:  %s (upload to PayBy: portal > management > api-key)\n", priv, pub)
	fmt.Fprintf(stdout, "  [payby] private_key_file = %q\n", priv)
	return exitOK
}

func runPayBySandbox(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("payby sandbox", stderr)
	listen := fs.String("listen", "127.0.0.1:8089", "`address` to listen on (a LAN address lets a phone open the checkout page)")
	keyDir := fs.String("key-dir", "payby-sandbox", "`dir` of the sandbox's keys (made on first run)")
	merchantPub := fs.String("merchant-pub", "", "merchant public key `file` (default: KEY_DIR/merchant_public.pem, made on first run)")
	data := fs.String("data", "", "keep orders in this JSON `file` across restarts (default: memory only)")
	publicURL := fs.String("public-url", "", "base `URL` of tokenUrl links, e.g. http://192.168.1.20:8089 (default: the request's Host)")
	partnerID := fs.String("partner-id", "", "accept only this Partner-Id (default: any)")
	merchantName := fs.String("merchant-name", "", "merchant shown on the checkout page when an order names none")
	notifyScale := fs.Int("notify-scale", 60, "divide PayBy's notification retry intervals (2m, 10m, ...) by `N`")
	var f sandbox.Faults
	durationVar(fs, &f.Latency, "latency", 0, "add this `latency` to every API call")
	fs.IntVar(&f.HTTP5xx, "fault-5xx", 0, "answer the next `N` API calls with HTTP 503 (-1: all)")
	fs.IntVar(&f.GatewayErrors, "fault-gateway", 0, "answer the next `N` API calls with an unsigned gateway error (-1: all)")
	fs.StringVar(&f.GatewayCode, "gateway-code", "500", "head `code` of --fault-gateway errors (500, 504, 402, 58001, ...)")
	fs.IntVar(&f.LostResponses, "fault-lost", 0, "process the next `N` API calls but answer HTTP 504 (-1: all)")
	fs.IntVar(&f.BadSignatures, "fault-bad-sign", 0, "sign the next `N` answers wrongly (-1: all)")
	fs.BoolVar(&f.DuplicateNotify, "dup-notify", false, "send every notification twice")
	fs.BoolVar(&f.DropNotify, "drop-notify", false, "send no notifications")
	fs.BoolVar(&f.PayRacesCancel, "pay-races-cancel", false, "a cancel of an unpaid order finds it just paid (62001)")
	quiet := fs.Bool("q", false, "log warnings only")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane payby sandbox [--listen 127.0.0.1:8089] [--key-dir DIR] [--data FILE] [fault flags]\n\nRuns a PayBy-compatible server: API at http://LISTEN/sgs/api, checkout pages\nbehind each tokenUrl, admin endpoints at /sandbox/admin/ (see docs/payby.md).")
		fs.PrintDefaults()
	}
	pos, code, done := parseInterleaved(fs, args)
	if done {
		return code
	}
	if len(pos) != 0 {
		fs.Usage()
		return exitUsage
	}
	if *notifyScale < 1 {
		fmt.Fprintf(stderr, "exitlane payby sandbox: --notify-scale %d: 1 or more\n", *notifyScale)
		return exitUsage
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"fault-5xx", f.HTTP5xx}, {"fault-gateway", f.GatewayErrors}, {"fault-lost", f.LostResponses}, {"fault-bad-sign", f.BadSignatures}} {
		if n.v < sandbox.Always {
			fmt.Fprintf(stderr, "exitlane payby sandbox: --%s %d: a number of calls, or -1 for all\n", n.name, n.v)
			return exitUsage
		}
	}
	keys, err := sandbox.LoadKeyDir(*keyDir, *merchantPub)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby sandbox:", err)
		return exitFailure
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	sb, err := sandbox.New(sandbox.Options{
		Key: keys.Key, MerchantKey: keys.MerchantKey, PartnerID: *partnerID, PublicURL: *publicURL,
		MerchantName: *merchantName, NotifyScale: *notifyScale, DataFile: *data, Logger: logger, Faults: f,
	})
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby sandbox:", err)
		return exitFailure
	}
	defer sb.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane payby sandbox:", err)
		return exitFailure
	}
	base := "http://" + ln.Addr().String()
	for _, g := range keys.Generated {
		fmt.Fprintf(stdout, "generated %s\n", g)
	}
	fmt.Fprintf(stdout, "PayBy sandbox listening on %s\n", base)
	fmt.Fprintf(stdout, "  [payby] base_url = %q\n", base+sandbox.APIPrefix)
	fmt.Fprintf(stdout, "  [payby] public_key_file = %q (the sandbox's key)\n", keys.PublicPath)
	if keys.MerchantPriv != "" {
		fmt.Fprintf(stdout, "  [payby] private_key_file = %q (merchant key the sandbox accepts)\n", keys.MerchantPriv)
	} else {
		fmt.Fprintf(stdout, "  merchant public key: %s\n", keys.MerchantPub)
	}
	fmt.Fprintf(stdout, "  orders: %s/   faults: %s\n", base, f.String())
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "exitlane payby sandbox:", err)
		return exitFailure
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	fmt.Fprintln(stdout, "sandbox stopped")
	return exitOK
}
