// Package wire holds PayBy's JSON shapes, amount codec and signature
// primitives, shared by the client (package payby) and the sandbox server so
// that both sides speak exactly one protocol.
//
// docs/payby-reference.md gives the sources of every field and rule.
package wire

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/exitlane/exitlane/money"
)

// Paths of the endpoints, relative to the base URL (".../sgs/api").
const (
	PathPlaceOrder  = "/acquire2/placeOrder"
	PathGetOrder    = "/acquire2/getOrder"
	PathCancelOrder = "/acquire2/cancelOrder"
	PathRevokeOrder = "/acquire2/revokeOrder"
	PathRefund      = "/acquire2/refund/placeOrder"
	PathGetRefund   = "/acquire2/refund/getOrder"
	PathCashierInfo = "/acquire2/getCashierUrlInfo"
)

// Header names. HTTP header names are case-insensitive; these are the
// spellings PayBy's documentation uses.
const (
	HeaderSign      = "sign"
	HeaderPartnerID = "Partner-Id"
	HeaderLanguage  = "Content-Language"
	HeaderVersion   = "api-version"
	ContentType     = "application/json; charset=UTF-8"
)

// MaxIntegerDigits is PayBy's limit on the integer part of an amount.
const MaxIntegerDigits = 12

// Errors of the amount codec.
var (
	ErrAmountSyntax    = errors.New("malformed amount")
	ErrAmountPrecision = errors.New("amount has more than two decimal places")
	ErrAmountRange     = errors.New("amount out of range")
)

// ParseAmount reads a PayBy amount exactly: a plain non-negative decimal
// with at most MaxIntegerDigits integer digits and at most two decimals
// ("1", "0.1", "25.00"). Exponents, signs and a third decimal are errors,
// never a rounding.
func ParseAmount(s string) (money.Fils, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("amount %q: %w", s, ErrAmountSyntax)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if c := part[i]; c < '0' || c > '9' {
				return 0, fmt.Errorf("amount %q: %w", s, ErrAmountSyntax)
			}
		}
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q: %w", s, ErrAmountPrecision)
	}
	trimmed := strings.TrimLeft(whole, "0")
	if len(trimmed) > MaxIntegerDigits {
		return 0, fmt.Errorf("amount %q: %w", s, ErrAmountRange)
	}
	var v int64
	for i := 0; i < len(trimmed); i++ {
		v = v*10 + int64(trimmed[i]-'0')
	}
	v *= 100
	switch len(frac) {
	case 1:
		v += int64(frac[0]-'0') * 10
	case 2:
		v += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	return money.Fils(v), nil
}

// Amount is money.Fils on the wire: written as a JSON number with exactly
// two decimals (25.00), read from a JSON number or, as some SDKs send it, a
// JSON string, exactly.
type Amount money.Fils

// MarshalJSON writes the amount as a two-decimal JSON number.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a < 0 {
		return nil, fmt.Errorf("amount %s: %w: negative", money.Fils(a).Decimal(), ErrAmountRange)
	}
	return []byte(money.Fils(a).Decimal()), nil
}

// UnmarshalJSON reads a JSON number or string holding a decimal amount.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = Amount(v)
	return nil
}

// Money is PayBy's {currency, amount} object.
type Money struct {
	Currency string `json:"currency"`
	Amount   Amount `json:"amount"`
}

// AED returns f as a Money in dirhams.
func AED(f money.Fils) *Money { return &Money{Currency: money.Currency, Amount: Amount(f)} }

// Fils returns the amount of m, or 0 for nil.
func (m *Money) Fils() money.Fils {
	if m == nil {
		return 0
	}
	return money.Fils(m.Amount)
}

// Request is the envelope of every API call.
type Request struct {
	RequestTime int64           `json:"requestTime"`
	BizContent  json.RawMessage `json:"bizContent"`
}

// Head is the head of every API response.
type Head struct {
	ApplyStatus string `json:"applyStatus"`
	Code        string `json:"code"`
	Msg         string `json:"msg"`
	TraceCode   string `json:"traceCode,omitempty"`
}

// UnmarshalJSON reads a head leniently: code and traceCode are strings in
// PayBy's documents, but a number is accepted as its decimal text.
func (h *Head) UnmarshalJSON(b []byte) error {
	var v struct {
		ApplyStatus string          `json:"applyStatus"`
		Code        json.RawMessage `json:"code"`
		Msg         string          `json:"msg"`
		TraceCode   json.RawMessage `json:"traceCode"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	code, err := stringOrNumber(v.Code)
	if err != nil {
		return fmt.Errorf("head code: %w", err)
	}
	trace, err := stringOrNumber(v.TraceCode)
	if err != nil {
		return fmt.Errorf("head traceCode: %w", err)
	}
	*h = Head{ApplyStatus: v.ApplyStatus, Code: code, Msg: v.Msg, TraceCode: trace}
	return nil
}

func stringOrNumber(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}

// OK reports whether the head is a success: apply status SUCCESS (any
// case) and code "0", as PayBy's Java SDK checks it.
func (h Head) OK() bool { return strings.EqualFold(h.ApplyStatus, "SUCCESS") && h.Code == "0" }

// Response is the envelope of every API response.
type Response struct {
	Head Head            `json:"head"`
	Body json.RawMessage `json:"body,omitempty"`
}

// UnsignedAllowed reports whether a response with this head code may come
// back without a sign header: PayBy's gateway answers some errors before
// any merchant key is involved. The list is the Java SDK's (400, 402, 403,
// 404, 500, 504, 601 and any code starting with 58).
func UnsignedAllowed(code string) bool {
	switch code {
	case "400", "402", "403", "404", "500", "504", "601":
		return true
	}
	return strings.HasPrefix(code, "58")
}

// OrderIndex addresses an order by exactly one of its two numbers.
type OrderIndex struct {
	MerchantOrderNo string `json:"merchantOrderNo,omitempty"`
	OrderNo         string `json:"orderNo,omitempty"`
}

// RefundIndex addresses a refund by exactly one of its two numbers.
type RefundIndex struct {
	RefundMerchantOrderNo string `json:"refundMerchantOrderNo,omitempty"`
	OrderNo               string `json:"orderNo,omitempty"`
}

// TerminalDetail names the site and lane an order comes from.
type TerminalDetail struct {
	OperatorID   string `json:"operatorId,omitempty"`
	StoreID      string `json:"storeId,omitempty"`
	TerminalID   string `json:"terminalId,omitempty"`
	MerchantName string `json:"merchantName,omitempty"`
	StoreName    string `json:"storeName,omitempty"`
}

// AccessoryContent carries optional order details.
type AccessoryContent struct {
	TerminalDetail *TerminalDetail `json:"terminalDetail,omitempty"`
}

// PlaceOrder is the bizContent of a create-order call. Field order is the
// order of the bytes on the wire.
type PlaceOrder struct {
	MerchantOrderNo  string            `json:"merchantOrderNo"`
	Subject          string            `json:"subject"`
	TotalAmount      *Money            `json:"totalAmount"`
	PaySceneCode     string            `json:"paySceneCode"`
	PaySceneParams   map[string]string `json:"paySceneParams,omitempty"`
	ExpiredTime      int64             `json:"expiredTime,omitempty"`
	NotifyURL        string            `json:"notifyUrl,omitempty"`
	Reserved         string            `json:"reserved,omitempty"`
	AccessoryContent *AccessoryContent `json:"accessoryContent,omitempty"`
}

// PaymentInfo is present on an order after payment.
type PaymentInfo struct {
	PaidAmount *Money `json:"paidAmount,omitempty"`
	PaidTime   int64  `json:"paidTime,omitempty"`
	PayChannel string `json:"payChannel,omitempty"`
	PayerMid   string `json:"payerMid,omitempty"`
}

// AcquireOrder is PayBy's order object.
type AcquireOrder struct {
	MerchantOrderNo  string            `json:"merchantOrderNo"`
	OrderNo          string            `json:"orderNo"`
	Status           string            `json:"status"`
	PaySceneCode     string            `json:"paySceneCode,omitempty"`
	PaySceneParams   map[string]string `json:"paySceneParams,omitempty"`
	Product          string            `json:"product,omitempty"`
	TotalAmount      *Money            `json:"totalAmount,omitempty"`
	PayeeMid         string            `json:"payeeMid,omitempty"`
	Subject          string            `json:"subject,omitempty"`
	Reserved         string            `json:"reserved,omitempty"`
	NotifyURL        string            `json:"notifyUrl,omitempty"`
	RequestTime      int64             `json:"requestTime,omitempty"`
	ExpiredTime      int64             `json:"expiredTime,omitempty"`
	Revoked          string            `json:"revoked,omitempty"`
	FailCode         string            `json:"failCode,omitempty"`
	FailDes          string            `json:"failDes,omitempty"`
	AccessoryContent *AccessoryContent `json:"accessoryContent,omitempty"`
	PaymentInfo      *PaymentInfo      `json:"paymentInfo,omitempty"`
}

// OrderBody is the response body of create, get, cancel and revoke.
type OrderBody struct {
	AcquireOrder      *AcquireOrder     `json:"acquireOrder"`
	InterActionParams map[string]string `json:"interActionParams,omitempty"`
}

// PlaceRefund is the bizContent of a refund call.
type PlaceRefund struct {
	RefundMerchantOrderNo string `json:"refundMerchantOrderNo"`
	OriginMerchantOrderNo string `json:"originMerchantOrderNo,omitempty"`
	OriginOrderNo         string `json:"originOrderNo,omitempty"`
	Amount                *Money `json:"amount"`
	OperatorName          string `json:"operatorName,omitempty"`
	Reason                string `json:"reason,omitempty"`
	NotifyURL             string `json:"notifyUrl,omitempty"`
}

// RefundOrder is PayBy's refund object.
type RefundOrder struct {
	RefundMerchantOrderNo string `json:"refundMerchantOrderNo"`
	OrderNo               string `json:"orderNo"`
	OriginMerchantOrderNo string `json:"originMerchantOrderNo,omitempty"`
	OriginOrderNo         string `json:"originOrderNo,omitempty"`
	Status                string `json:"status"`
	Amount                *Money `json:"amount,omitempty"`
	Reason                string `json:"reason,omitempty"`
	OperatorName          string `json:"operatorName,omitempty"`
	RequestTime           int64  `json:"requestTime,omitempty"`
	FinishedTime          int64  `json:"finishedTime,omitempty"`
	FailCode              string `json:"failCode,omitempty"`
	FailDes               string `json:"failDes,omitempty"`
}

// RefundSummary says how much of a payment can still be refunded.
type RefundSummary struct {
	AcquireAmount      *Money `json:"acquireAmount,omitempty"`
	RemainRefundAmount *Money `json:"remainRefundAmount,omitempty"`
}

// RefundBody is the response body of refund and refund query.
type RefundBody struct {
	RefundOrder   *RefundOrder   `json:"refundOrder"`
	RefundSummary *RefundSummary `json:"refundSummary,omitempty"`
}

// CashierInfo is the bizContent of getCashierUrlInfo.
type CashierInfo struct {
	TokenURL string `json:"tokenUrl"`
}

// Payer is who scanned a token URL.
type Payer struct {
	MobileNumberMask string `json:"mobileNumberMask,omitempty"`
}

// CashierBody is the response body of getCashierUrlInfo.
type CashierBody struct {
	Payer *Payer `json:"payer,omitempty"`
}

// Notification is the body PayBy POSTs to a notifyUrl.
type Notification struct {
	NotifyID        string        `json:"notify_id"`
	NotifyTimestamp int64         `json:"notify_timestamp"`
	NotifyTime      string        `json:"notify_time,omitempty"`
	InputCharset    string        `json:"_input_charset,omitempty"`
	AcquireOrder    *AcquireOrder `json:"acquireOrder,omitempty"`
	RefundOrder     *RefundOrder  `json:"refundOrder,omitempty"`
}

// Sign signs body with SHA256withRSA (PKCS#1 v1.5) and returns the
// standard Base64 signature PayBy expects in the sign header.
func Sign(key *rsa.PrivateKey, body []byte) (string, error) {
	h := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// ErrBadSignature is returned by Verify for a signature that does not match.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks a standard Base64 SHA256withRSA signature over body.
func Verify(pub *rsa.PublicKey, body []byte, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sign))
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrBadSignature)
	}
	h := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Marshal is json.Marshal without HTML escaping: "&" stays "&" on the
// wire, as PayBy's own SDKs write it.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeStrict decodes data into v, refusing trailing data.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
