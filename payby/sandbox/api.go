package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/internal/wire"
)

// result is one API answer before it is written.
type result struct {
	head     wire.Head
	body     any
	unsigned bool
	status   int
}

func (s *Server) trace() string { return randomHex(4) }

func (s *Server) fail(code, msg string) result {
	return result{head: wire.Head{ApplyStatus: "FAIL", Code: code, Msg: msg, TraceCode: s.trace()}}
}

func (s *Server) badParam(format string, args ...any) result {
	s.o.Logger.Info("sandbox: invalid parameter", "why", fmt.Sprintf(format, args...))
	return s.fail("400", "INVALID_PARAMETER")
}

// ok answers SUCCESS with body, encoded at once: the handlers call it
// under s.mu, and body points into records that Pay and the checkout
// change once the lock is released.
func (s *Server) ok(body any) result {
	b, err := wire.Marshal(body)
	if err != nil {
		s.o.Logger.Error("sandbox: encode body", "err", err)
		return s.fail("500", "SYSTEM_ERROR")
	}
	return result{head: wire.Head{ApplyStatus: "SUCCESS", Code: "0", Msg: "SUCCESS", TraceCode: s.trace()}, body: json.RawMessage(b)}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	latency := s.faults.Latency
	var fault string
	switch {
	case take(&s.faults.HTTP5xx):
		fault = "5xx"
	case take(&s.faults.GatewayErrors):
		fault = "gateway"
	case take(&s.faults.LostResponses):
		fault = "lost"
	case take(&s.faults.BadSignatures):
		fault = "badsign"
	}
	gatewayCode := s.faults.GatewayCode
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch fault {
	case "5xx":
		http.Error(w, "service unavailable (sandbox fault)", http.StatusServiceUnavailable)
		return
	case "gateway":
		if gatewayCode == "" {
			gatewayCode = "500"
		}
		msg := map[string]string{"400": "INVALID_PARAMETER", "402": "RATE_LIMIT_REJECT", "403": "UNAUTHORIZED", "404": "SERVICE_NOT_AVAILABLE", "500": "SYSTEM_ERROR", "504": "SERVICE_TIMEOUT", "601": "RISK_FAIL"}[gatewayCode]
		if msg == "" {
			msg = "GATEWAY_ERROR"
		}
		s.write(w, result{head: wire.Head{ApplyStatus: "FAIL", Code: gatewayCode, Msg: msg, TraceCode: s.trace()}, unsigned: true}, false)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(raw) > 1<<20 {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	res := s.handle(r, raw)
	if fault == "lost" {
		s.o.Logger.Info("sandbox: dropping response after processing (fault)", "path", r.URL.Path)
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	s.write(w, res, fault == "badsign")
}

func (s *Server) write(w http.ResponseWriter, res result, badSign bool) {
	var bodyRaw json.RawMessage
	if res.body != nil {
		b, err := wire.Marshal(res.body)
		if err != nil {
			http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
			return
		}
		bodyRaw = b
	}
	out, err := wire.Marshal(wire.Response{Head: res.head, Body: bodyRaw})
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", wire.ContentType)
	w.Header().Set("Date", s.o.Now().UTC().Format(http.TimeFormat))
	if !res.unsigned {
		sign, err := wire.Sign(s.o.Key, out)
		if err != nil {
			http.Error(w, "sign: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if badSign {
			sig, _ := base64.StdEncoding.DecodeString(sign)
			sig[len(sig)/2] ^= 0x5a
			sign = base64.StdEncoding.EncodeToString(sig)
		}
		w.Header().Set(wire.HeaderSign, sign)
	}
	status := res.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(out)
}

// envelope is the request envelope read leniently enough to say what is
// wrong with it.
type envelope struct {
	RequestTime json.Number     `json:"requestTime"`
	BizContent  json.RawMessage `json:"bizContent"`
}

func (s *Server) handle(r *http.Request, raw []byte) result {
	partner := r.Header.Get(wire.HeaderPartnerID)
	if partner == "" || len(partner) > 12 || (s.o.PartnerID != "" && partner != s.o.PartnerID) {
		return result{head: wire.Head{ApplyStatus: "FAIL", Code: "403", Msg: "UNAUTHORIZED", TraceCode: s.trace()}, unsigned: true}
	}
	if sign := r.Header.Get(wire.HeaderSign); sign == "" || wire.Verify(s.o.MerchantKey, raw, sign) != nil {
		// PayBy reports a signature it cannot verify with apply status
		// ERROR; the code is not documented (docs/payby-reference.md §4),
		// 58001 is ours.
		s.o.Logger.Info("sandbox: merchant signature rejected", "partner_id", partner, "path", r.URL.Path)
		return result{head: wire.Head{ApplyStatus: "ERROR", Code: "58001", Msg: "SIGN_VERIFY_FAILED", TraceCode: s.trace()}, unsigned: true}
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return s.badParam("envelope: %v", err)
	}
	rt, err := env.RequestTime.Int64()
	if err != nil {
		return s.badParam("requestTime %q is not epoch milliseconds", env.RequestTime)
	}
	now := s.o.Now()
	switch {
	case rt < now.Add(-RequestWindow).UnixMilli():
		return s.fail("400", "REQUESTTIME_TOO_EARLY")
	case rt > now.Add(RequestWindow).UnixMilli():
		return s.fail("400", "REQUESTTIME_TOO_LATER")
	}
	biz := bytes.TrimSpace(env.BizContent)
	if len(biz) == 0 || biz[0] != '{' {
		return s.badParam("bizContent is not an object")
	}
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch strings.TrimPrefix(r.URL.Path, APIPrefix) {
	case wire.PathPlaceOrder:
		return s.placeOrder(biz, rt, base)
	case wire.PathGetOrder:
		return s.orderOp(biz, "get")
	case wire.PathCancelOrder:
		return s.orderOp(biz, "cancel")
	case wire.PathRevokeOrder:
		return s.orderOp(biz, "revoke")
	case wire.PathRefund:
		return s.refund(biz, rt)
	case wire.PathGetRefund:
		return s.getRefund(biz)
	case wire.PathCashierInfo:
		return s.cashierInfo(biz)
	}
	return result{head: wire.Head{ApplyStatus: "FAIL", Code: "404", Msg: "SERVICE_NOT_AVAILABLE", TraceCode: s.trace()}, unsigned: true}
}

// canonical returns biz with sorted keys and numbers as written, so that
// identical parameters compare equal whatever the key order.
func canonical(biz []byte) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(biz))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return string(biz)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(biz)
	}
	return string(out)
}

type placeOrderIn struct {
	MerchantOrderNo  string                 `json:"merchantOrderNo"`
	Subject          string                 `json:"subject"`
	TotalAmount      *wire.Money            `json:"totalAmount"`
	PaySceneCode     string                 `json:"paySceneCode"`
	PaySceneParams   map[string]any         `json:"paySceneParams"`
	ExpiredTime      json.Number            `json:"expiredTime"`
	NotifyURL        string                 `json:"notifyUrl"`
	Reserved         string                 `json:"reserved"`
	AccessoryContent *wire.AccessoryContent `json:"accessoryContent"`
}

func validNo(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validMoney(m *wire.Money) bool {
	return m != nil && m.Currency == money.Currency && m.Amount > 0
}

func sceneString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool: // tolerated: some SDKs send booleans
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func (s *Server) placeOrder(biz []byte, requestTime int64, base string) result {
	var in placeOrderIn
	if err := json.Unmarshal(biz, &in); err != nil {
		return s.badParam("placeOrder: %v", err)
	}
	if !validNo(in.MerchantOrderNo) {
		return s.badParam("merchantOrderNo %q", in.MerchantOrderNo)
	}
	canon := canonical(biz)
	if rec, ok := s.st.Orders[in.MerchantOrderNo]; ok {
		// PayBy's idempotency: the same parameters return the order as
		// it stands; requestTime is not compared.
		if rec.Canon != canon {
			return s.fail("62016", "MERCHANT_ORDER_NO_EXIST")
		}
		s.refreshLocked(rec)
		switch payby.Status(rec.Order.Status) {
		case payby.StatusCreated:
			return s.ok(wire.OrderBody{AcquireOrder: &rec.Order, InterActionParams: map[string]string{"tokenUrl": s.tokenURL(base, rec)}})
		case payby.StatusPaidSuccess:
			return s.fail("62001", "ORDER_PAID")
		case payby.StatusSettled:
			return s.fail("62003", "ORDER_SETTLED")
		default:
			return s.fail("62002", "ORDER_FAILURE")
		}
	}
	switch {
	case in.Subject == "" || utf8.RuneCountInString(in.Subject) > 12:
		// The smaller of the documented limits (12 vs 64), so what
		// passes here passes PayBy under either document.
		return s.badParam("subject %q must be 1-12 characters", in.Subject)
	case !validMoney(in.TotalAmount):
		return s.badParam("totalAmount must be a positive AED amount")
	case in.PaySceneCode == "":
		return s.badParam("paySceneCode missing")
	case in.PaySceneCode != "DYNQR":
		return s.fail("62012", "PAYSCENECODE_ILLEGAL")
	case len(in.NotifyURL) > 200:
		return s.badParam("notifyUrl too long")
	case utf8.RuneCountInString(in.Reserved) > 20:
		return s.badParam("reserved longer than 20")
	}
	params := map[string]string{"changePayer": "true", "oneTimePayment": "false"}
	for k, v := range in.PaySceneParams {
		str, ok := sceneString(v)
		if !ok {
			return s.badParam("paySceneParams.%s is not a string", k)
		}
		params[k] = str
	}
	if p := params["oneTimePayment"]; p != "true" && p != "false" {
		return s.fail("62073", "INVALID_ONE_TIME_PAYMENT")
	}
	expired := requestTime + (2 * time.Hour).Milliseconds()
	if in.ExpiredTime != "" {
		e, err := in.ExpiredTime.Int64()
		if err != nil {
			return s.fail("62089", "INVALID_EXPIRED_TIME")
		}
		if e <= requestTime {
			return s.fail("62008", "EXPIREDTIME_LESS_THAN_REQUESTTIME")
		}
		if e > requestTime+(48*time.Hour).Milliseconds() {
			return s.fail("62009", "EXPIREDTIME_TOO_LATER")
		}
		expired = e
	}
	seq := s.nextSeqLocked()
	rec := &record{
		Order: wire.AcquireOrder{
			MerchantOrderNo:  in.MerchantOrderNo,
			OrderNo:          fmt.Sprintf("13%d%05d", requestTime, seq%100000),
			Status:           string(payby.StatusCreated),
			PaySceneCode:     "DYNQR",
			PaySceneParams:   params,
			Product:          "Basic Payment Gateway",
			TotalAmount:      in.TotalAmount,
			PayeeMid:         "200000000888",
			Subject:          in.Subject,
			Reserved:         in.Reserved,
			NotifyURL:        in.NotifyURL,
			RequestTime:      requestTime,
			ExpiredTime:      expired,
			Revoked:          "false",
			AccessoryContent: in.AccessoryContent,
		},
		Canon:   canon,
		Token:   randomHex(16),
		OneTime: params["oneTimePayment"] == "true",
	}
	s.st.Orders[in.MerchantOrderNo] = rec
	s.byNo[rec.Order.OrderNo] = rec
	s.byToken[rec.Token] = rec
	s.saveLocked()
	s.o.Logger.Info("sandbox: order created", "merchant_order_no", in.MerchantOrderNo, "amount", in.TotalAmount.Fils().Decimal())
	return s.ok(wire.OrderBody{AcquireOrder: &rec.Order, InterActionParams: map[string]string{"tokenUrl": s.tokenURL(base, rec)}})
}

func (s *Server) lookup(biz []byte) (*record, *result) {
	var idx wire.OrderIndex
	if err := json.Unmarshal(biz, &idx); err != nil {
		r := s.badParam("order index: %v", err)
		return nil, &r
	}
	var rec *record
	switch {
	case (idx.MerchantOrderNo == "") == (idx.OrderNo == ""):
		r := s.badParam("exactly one of merchantOrderNo and orderNo")
		return nil, &r
	case idx.MerchantOrderNo != "":
		rec = s.st.Orders[idx.MerchantOrderNo]
		if rec == nil {
			r := s.fail("62004", "MERCHANT_ORDER_NO_NOT_EXIST")
			return nil, &r
		}
	default:
		rec = s.byNo[idx.OrderNo]
		if rec == nil {
			r := s.fail("62035", "ORDER_NO_NOT_EXIST")
			return nil, &r
		}
	}
	s.refreshLocked(rec)
	return rec, nil
}

func (s *Server) orderOp(biz []byte, op string) result {
	rec, bad := s.lookup(biz)
	if bad != nil {
		return *bad
	}
	o := &rec.Order
	st := payby.Status(o.Status)
	switch op {
	case "cancel":
		if st == payby.StatusCreated && s.faults.PayRacesCancel {
			s.o.Logger.Info("sandbox: payment races the cancel (fault)", "merchant_order_no", o.MerchantOrderNo)
			s.payLocked(rec)
			st = payby.Status(o.Status)
		}
		switch st {
		case payby.StatusCreated:
			o.Status = string(payby.StatusFailure)
			o.FailCode, o.FailDes = "ORDER_CLOSED", "cancelled by merchant"
			s.saveLocked()
		case payby.StatusPaidSuccess:
			return s.fail("62001", "ORDER_PAID")
		case payby.StatusSettled:
			return s.fail("62003", "ORDER_SETTLED")
		default:
			return s.fail("62002", "ORDER_FAILURE")
		}
	case "revoke":
		if o.Revoked != "true" {
			switch {
			case st.IsPaid() && rec.Refunded > 0:
				return s.fail("62041", "ACQUIRE_ORDER_REFUNDED")
			case st.IsPaid():
				// The status stays; PayBy refunds the payment in full.
				rec.Refunded = o.PaymentInfo.PaidAmount.Fils()
			case st == payby.StatusCreated:
				o.Status = string(payby.StatusFailure)
				o.FailCode, o.FailDes = "ORDER_REVOKED", "revoked by merchant"
			}
			o.Revoked = "true"
			s.saveLocked()
		}
	}
	return s.ok(wire.OrderBody{AcquireOrder: o})
}

func (s *Server) summaryLocked(rec *record) *wire.RefundSummary {
	paid := rec.Order.PaymentInfo.PaidAmount.Fils()
	return &wire.RefundSummary{AcquireAmount: wire.AED(paid), RemainRefundAmount: wire.AED(paid - rec.Refunded)}
}

func (s *Server) refund(biz []byte, requestTime int64) result {
	var in wire.PlaceRefund
	if err := json.Unmarshal(biz, &in); err != nil {
		return s.badParam("refund: %v", err)
	}
	switch {
	case !validNo(in.RefundMerchantOrderNo):
		return s.badParam("refundMerchantOrderNo %q", in.RefundMerchantOrderNo)
	case (in.OriginMerchantOrderNo == "") == (in.OriginOrderNo == ""):
		return s.badParam("exactly one of originMerchantOrderNo and originOrderNo")
	case !validMoney(in.Amount):
		return s.badParam("amount must be a positive AED amount")
	case utf8.RuneCountInString(in.Reason) > 64:
		return s.badParam("reason longer than 64")
	}
	canon := canonical(biz)
	if rr, ok := s.st.Refunds[in.RefundMerchantOrderNo]; ok {
		if rr.Canon != canon {
			return s.fail("62017", "REFUND_MERCHANT_ORDER_NO_EXIST")
		}
		origin := s.st.Orders[rr.Refund.OriginMerchantOrderNo]
		return s.ok(wire.RefundBody{RefundOrder: &rr.Refund, RefundSummary: s.summaryLocked(origin)})
	}
	var rec *record
	if in.OriginMerchantOrderNo != "" {
		if rec = s.st.Orders[in.OriginMerchantOrderNo]; rec == nil {
			return s.fail("62004", "MERCHANT_ORDER_NO_NOT_EXIST")
		}
	} else if rec = s.byNo[in.OriginOrderNo]; rec == nil {
		return s.fail("62035", "ORDER_NO_NOT_EXIST")
	}
	s.refreshLocked(rec)
	st := payby.Status(rec.Order.Status)
	switch {
	case st == payby.StatusCreated:
		return s.fail("62015", "ORDER_NOT_PAID")
	case !st.IsPaid():
		return s.fail("62002", "ORDER_FAILURE")
	case rec.Order.Revoked == "true":
		return s.fail("62040", "ACQUIRE_ORDER_REVOKED")
	}
	paid := rec.Order.PaymentInfo.PaidAmount.Fils()
	if in.Amount.Fils() > paid-rec.Refunded {
		return s.fail("62006", "REFUND_AMOUNT_EXCEEDED")
	}
	rec.Refunded += in.Amount.Fils()
	seq := s.nextSeqLocked()
	rr := &refundRecord{
		Refund: wire.RefundOrder{
			RefundMerchantOrderNo: in.RefundMerchantOrderNo,
			OrderNo:               fmt.Sprintf("23%d%05d", requestTime, seq%100000),
			OriginMerchantOrderNo: rec.Order.MerchantOrderNo,
			OriginOrderNo:         rec.Order.OrderNo,
			Status:                "SUCCESS",
			Amount:                in.Amount,
			Reason:                in.Reason,
			OperatorName:          in.OperatorName,
			RequestTime:           requestTime,
			FinishedTime:          s.o.Now().UnixMilli(),
		},
		Canon: canon,
	}
	s.st.Refunds[in.RefundMerchantOrderNo] = rr
	s.refByNo[rr.Refund.OrderNo] = rr
	s.saveLocked()
	if in.NotifyURL != "" {
		s.notifyRefundLocked(in.NotifyURL, &rr.Refund)
	}
	return s.ok(wire.RefundBody{RefundOrder: &rr.Refund, RefundSummary: s.summaryLocked(rec)})
}

func (s *Server) getRefund(biz []byte) result {
	var idx wire.RefundIndex
	if err := json.Unmarshal(biz, &idx); err != nil {
		return s.badParam("refund index: %v", err)
	}
	var rr *refundRecord
	switch {
	case (idx.RefundMerchantOrderNo == "") == (idx.OrderNo == ""):
		return s.badParam("exactly one of refundMerchantOrderNo and orderNo")
	case idx.RefundMerchantOrderNo != "":
		if rr = s.st.Refunds[idx.RefundMerchantOrderNo]; rr == nil {
			return s.fail("62007", "REFUND_MERCHANT_ORDER_NO_NOT_EXIST")
		}
	default:
		if rr = s.refByNo[idx.OrderNo]; rr == nil {
			return s.fail("62035", "ORDER_NO_NOT_EXIST")
		}
	}
	origin := s.st.Orders[rr.Refund.OriginMerchantOrderNo]
	return s.ok(wire.RefundBody{RefundOrder: &rr.Refund, RefundSummary: s.summaryLocked(origin)})
}

func (s *Server) cashierInfo(biz []byte) result {
	var in wire.CashierInfo
	if err := json.Unmarshal(biz, &in); err != nil || in.TokenURL == "" {
		return s.badParam("tokenUrl missing")
	}
	rec := s.byToken[tokenOf(in.TokenURL)]
	if rec == nil {
		return s.fail("62082", "TOKEN_URL_NOT_EXIST")
	}
	s.refreshLocked(rec)
	if rec.Order.Status == string(payby.StatusFailure) {
		return s.fail("62082", "TOKEN_URL_NOT_EXIST")
	}
	body := wire.CashierBody{}
	if rec.Scanned {
		body.Payer = &wire.Payer{MobileNumberMask: s.o.PayerMask}
	}
	return s.ok(body)
}
