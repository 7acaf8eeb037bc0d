package sandbox

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exitlane/exitlane/payby"
)

// tokenOf extracts the ft parameter of a tokenUrl.
func tokenOf(tokenURL string) string {
	u, err := url.Parse(tokenURL)
	if err != nil {
		return ""
	}
	return u.Query().Get("ft")
}

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Found}}Pay {{.Amount}}{{else}}Payment link{{end}} · PayBy sandbox</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f3f5f7;color:#1b1f23}
main{max-width:26rem;margin:0 auto;padding:1.5rem}
.card{background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 4px #0002}
.sandbox{font-size:.8rem;color:#a15c00;text-transform:uppercase;letter-spacing:.05em}
h1{font-size:1.2rem;margin:.3rem 0}
.amount{font-size:2.4rem;font-weight:700;margin:1rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;font-size:.9rem}
dt{color:#666}
button{display:block;width:100%;font:inherit;font-size:1.2rem;padding:1rem;margin-top:1rem;border:0;border-radius:10px}
.pay{background:#0a7d38;color:#fff}.decline{background:#e4e7ea;color:#1b1f23}
.status{font-size:1.3rem;font-weight:600;margin-top:1rem}
.ok{color:#0a7d38}.bad{color:#b3261e}
</style></head><body><main><div class="card">
<div class="sandbox">PayBy sandbox checkout</div>
{{if not .Found}}
<h1>Payment link not found</h1>
<p>This payment link does not exist or has expired.</p>
{{else}}
<h1 id="merchant">{{.Merchant}}</h1>{{if .Store}}<div>{{.Store}}</div>{{end}}
<div class="amount" id="amount">{{.Amount}}</div>
<dl><dt>For</dt><dd>{{.Subject}}</dd><dt>Order</dt><dd>{{.MerchantOrderNo}}</dd>
{{if .Open}}<dt>Expires</dt><dd>{{.Expires}}</dd>{{end}}</dl>
{{if .Message}}<p class="status {{.Class}}" id="message">{{.Message}}</p>{{end}}
{{if .Open}}
<form method="post" action="/pay-page/main">
<input type="hidden" name="ft" value="{{.Token}}">
<button class="pay" id="pay" type="submit" name="action" value="pay">Pay {{.Amount}}</button>
<button class="decline" id="decline" type="submit" name="action" value="decline">Decline</button>
</form>
{{else}}
<p class="status {{.Class}}" id="status">{{.Status}}</p>
{{end}}
{{end}}
</div></main></body></html>
`))

type checkoutView struct {
	Found                            bool
	Token, Merchant, Store, Subject  string
	Amount, MerchantOrderNo, Expires string
	Open                             bool
	Status, Message, Class           string
}

func (s *Server) serveCheckout(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		s.checkoutAction(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token := r.URL.Query().Get("ft")
	v := checkoutView{Token: token}
	s.mu.Lock()
	rec := s.byToken[token]
	if rec != nil {
		s.refreshLocked(rec)
		o := &rec.Order
		v.Found = true
		v.Merchant, v.Subject, v.MerchantOrderNo = s.o.MerchantName, o.Subject, o.MerchantOrderNo
		if t := o.AccessoryContent; t != nil && t.TerminalDetail != nil {
			if t.TerminalDetail.MerchantName != "" {
				v.Merchant = t.TerminalDetail.MerchantName
			}
			v.Store = t.TerminalDetail.StoreName
		}
		v.Amount = o.TotalAmount.Fils().String()
		st := payby.Status(o.Status)
		v.Open = st == payby.StatusCreated
		if v.Open && !rec.Scanned {
			rec.Scanned = true // opening the page is scanning the QR
			s.saveLocked()
		}
		left := time.UnixMilli(o.ExpiredTime).Sub(s.o.Now()).Round(time.Second)
		v.Expires = "in " + left.String()
		switch {
		case st.IsPaid() && o.Revoked == "true":
			v.Status, v.Class = "Paid, then revoked: the payment is being returned", "bad"
		case st.IsPaid() && rec.Refunded > 0:
			v.Status, v.Class = "Paid, then refunded "+rec.Refunded.String()+".", "ok"
		case st.IsPaid():
			v.Status, v.Class = "Paid. Thank you.", "ok"
		case st == payby.StatusFailure:
			v.Status, v.Class = "This order is closed ("+strings.ToLower(strings.ReplaceAll(o.FailCode, "_", " "))+"). Nothing was charged.", "bad"
		}
		switch r.URL.Query().Get("done") {
		case "declined":
			if v.Open {
				v.Message, v.Class = "Payment declined. You can try again.", "bad"
			}
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !v.Found {
		w.WriteHeader(http.StatusNotFound)
	}
	checkoutPage.Execute(w, v)
}

func (s *Server) checkoutAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("ft")
	s.mu.Lock()
	rec := s.byToken[token]
	var no string
	if rec != nil {
		no = rec.Order.MerchantOrderNo
	}
	s.mu.Unlock()
	if rec == nil {
		http.Error(w, "payment link not found", http.StatusNotFound)
		return
	}
	done := ""
	switch r.PostForm.Get("action") {
	case "pay":
		if err := s.Pay(no); err == nil {
			done = "paid"
		}
	case "decline":
		if _, err := s.Decline(no); err == nil {
			done = "declined"
		}
	default:
		http.Error(w, "unknown action", http.StatusBadRequest)
		return
	}
	target := "/pay-page/main?BIZ_TYPE=202&ft=" + url.QueryEscape(token)
	if done != "" {
		target += "&done=" + done
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PayBy sandbox</title><style>body{font-family:system-ui,sans-serif;margin:1.5rem}td,th{padding:.3rem .8rem;text-align:left}</style></head>
<body><h1>PayBy sandbox</h1><p>API base URL: <code>{{.Base}}/sgs/api</code>. Admin: <code>/sandbox/admin/</code> (see docs/payby.md).</p>
<table><tr><th>Merchant order</th><th>Amount</th><th>Status</th><th>Created</th></tr>
{{range .Orders}}<tr><td>{{if eq .Status "CREATED"}}<a href="{{.TokenURL}}">{{.MerchantOrderNo}}</a>{{else}}{{.MerchantOrderNo}}{{end}}</td><td>{{.Amount}}</td><td>{{.Status}}{{if .Revoked}} (revoked){{end}}</td><td>{{.RequestTime.Format "2006-01-02 15:04:05"}}</td></tr>
{{else}}<tr><td colspan="4">No orders yet.</td></tr>{{end}}</table></body></html>
`))

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	indexPage.Execute(w, map[string]any{"Base": "http://" + r.Host, "Orders": s.Orders()})
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	action := strings.TrimPrefix(r.URL.Path, "/sandbox/admin/")
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(v)
	}
	fail := func(err error) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, ErrNotPayable):
			status = http.StatusConflict
		}
		writeJSON(status, map[string]string{"error": err.Error()})
	}
	switch action {
	case "orders":
		writeJSON(http.StatusOK, s.Orders())
		return
	case "faults":
		if r.Method == http.MethodGet {
			writeJSON(http.StatusOK, s.Faults())
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var f Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&f); err != nil {
			fail(err)
			return
		}
		s.SetFaults(f)
		writeJSON(http.StatusOK, s.Faults())
		return
	case "pay", "decline", "scan", "settle", "expire":
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	no := r.URL.Query().Get("merchantOrderNo")
	if no == "" {
		var in struct {
			MerchantOrderNo string `json:"merchantOrderNo"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&in); err != nil {
			fail(errors.New("want JSON {\"merchantOrderNo\": ...} or ?merchantOrderNo="))
			return
		}
		no = in.MerchantOrderNo
	}
	var err error
	switch action {
	case "pay":
		err = s.Pay(no)
	case "decline":
		_, err = s.Decline(no)
	case "scan":
		err = s.Scan(no)
	case "settle":
		err = s.Settle(no)
	case "expire":
		err = s.Expire(no)
	}
	if err != nil {
		fail(err)
		return
	}
	info, err := s.Order(no)
	if err != nil {
		fail(err)
		return
	}
	writeJSON(http.StatusOK, info)
}
