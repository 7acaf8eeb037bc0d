package payby

import (
	"fmt"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby/internal/wire"
)

// Status is an order status, spelled as PayBy spells it.
type Status string

// Order statuses. PayBy has no "scanned" or "paying" status; see
// Client.CashierInfo for that.
const (
	StatusCreated     Status = "CREATED"      // unpaid; the only cancellable status
	StatusPaidSuccess Status = "PAID_SUCCESS" // paid: open the barrier
	StatusSettled     Status = "SETTLED"      // paid and settled to the merchant
	StatusFailure     Status = "FAILURE"      // cancelled, expired, failed or revoked unpaid
)

// IsFinal reports whether the status can no longer change to paid or
// unpaid (SETTLED still follows PAID_SUCCESS, but both are paid).
func (s Status) IsFinal() bool {
	switch s {
	case StatusPaidSuccess, StatusSettled, StatusFailure, "VOID":
		return true
	}
	return false
}

// IsPaid reports PAID_SUCCESS or SETTLED. A paid order may still have been
// revoked; see Order.Paid.
func (s Status) IsPaid() bool { return s == StatusPaidSuccess || s == StatusSettled }

func (s Status) String() string { return string(s) }

// Order is a PayBy acquire order as the lane sees it. Amounts are fils,
// times are UTC (zero when PayBy did not send them).
type Order struct {
	MerchantOrderNo string     `json:"merchantOrderNo"`
	OrderNo         string     `json:"orderNo"`
	Status          Status     `json:"status"`
	Amount          money.Fils `json:"amount"`
	PaidAmount      money.Fils `json:"paidAmount"`
	PaidTime        time.Time  `json:"paidTime,omitzero"`
	RequestTime     time.Time  `json:"requestTime,omitzero"`
	ExpiredTime     time.Time  `json:"expiredTime,omitzero"`
	// Revoked is PayBy's revoked "true": an unpaid order was closed, or a
	// paid one is being refunded in full.
	Revoked    bool   `json:"revoked"`
	Subject    string `json:"subject,omitempty"`
	Reserved   string `json:"reserved,omitempty"`
	NotifyURL  string `json:"notifyUrl,omitempty"`
	StoreID    string `json:"storeId,omitempty"`
	TerminalID string `json:"terminalId,omitempty"`
	PayChannel string `json:"payChannel,omitempty"`
	PayerMID   string `json:"payerMid,omitempty"`
	FailCode   string `json:"failCode,omitempty"`
	FailDes    string `json:"failDes,omitempty"`
	// ServerTime is the Date header of the answer that carried the order:
	// PayBy's clock to a second, for clock-skew checks (zero if absent).
	ServerTime time.Time `json:"-"`
}

// Paid reports whether the money is the merchant's: status PAID_SUCCESS or
// SETTLED and not revoked.
func (o *Order) Paid() bool { return o.Status.IsPaid() && !o.Revoked }

// Created is the result of CreateOrder.
type Created struct {
	Order Order `json:"order"`
	// TokenURL is the string to show as the QR code. PayBy returns it only
	// while the order is CREATED.
	TokenURL string `json:"tokenUrl"`
}

// Refund is a PayBy refund order.
type Refund struct {
	RefundMerchantOrderNo string     `json:"refundMerchantOrderNo"`
	OrderNo               string     `json:"orderNo"`
	OriginMerchantOrderNo string     `json:"originMerchantOrderNo,omitempty"`
	OriginOrderNo         string     `json:"originOrderNo,omitempty"`
	Status                string     `json:"status"` // CREATED, REFUNDED_SETTLED, SUCCESS, FAILURE
	Amount                money.Fils `json:"amount"`
	Reason                string     `json:"reason,omitempty"`
	FailCode              string     `json:"failCode,omitempty"`
	FailDes               string     `json:"failDes,omitempty"`
	// Remaining is how much of the payment can still be refunded, when
	// PayBy sent a refund summary; -1 when it did not.
	Remaining money.Fils `json:"remaining"`
}

// Cashier tells whether someone has scanned an order's QR code.
type Cashier struct {
	Scanned bool `json:"scanned"`
	// MobileNumberMask is the scanner's masked number, e.g. "+971-58*92".
	MobileNumberMask string `json:"mobileNumberMask,omitempty"`
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func orderFromWire(w *wire.AcquireOrder) (*Order, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: no acquireOrder", ErrMalformed)
	}
	if w.MerchantOrderNo == "" || w.Status == "" {
		return nil, fmt.Errorf("%w: acquireOrder without merchantOrderNo or status", ErrMalformed)
	}
	o := &Order{
		MerchantOrderNo: w.MerchantOrderNo,
		OrderNo:         w.OrderNo,
		Status:          Status(w.Status),
		Amount:          w.TotalAmount.Fils(),
		RequestTime:     msTime(w.RequestTime),
		ExpiredTime:     msTime(w.ExpiredTime),
		Revoked:         w.Revoked == "true",
		Subject:         w.Subject,
		Reserved:        w.Reserved,
		NotifyURL:       w.NotifyURL,
		FailCode:        w.FailCode,
		FailDes:         w.FailDes,
	}
	if w.TotalAmount != nil && w.TotalAmount.Currency != "" && w.TotalAmount.Currency != money.Currency {
		return nil, fmt.Errorf("%w: currency %q", ErrMalformed, w.TotalAmount.Currency)
	}
	if w.AccessoryContent != nil && w.AccessoryContent.TerminalDetail != nil {
		o.StoreID = w.AccessoryContent.TerminalDetail.StoreID
		o.TerminalID = w.AccessoryContent.TerminalDetail.TerminalID
	}
	if p := w.PaymentInfo; p != nil {
		o.PaidAmount = p.PaidAmount.Fils()
		o.PaidTime = msTime(p.PaidTime)
		o.PayChannel = p.PayChannel
		o.PayerMID = p.PayerMid
	}
	return o, nil
}

func refundFromWire(w *wire.RefundOrder, s *wire.RefundSummary) (*Refund, error) {
	if w == nil || w.RefundMerchantOrderNo == "" {
		return nil, fmt.Errorf("%w: no refundOrder", ErrMalformed)
	}
	r := &Refund{
		RefundMerchantOrderNo: w.RefundMerchantOrderNo,
		OrderNo:               w.OrderNo,
		OriginMerchantOrderNo: w.OriginMerchantOrderNo,
		OriginOrderNo:         w.OriginOrderNo,
		Status:                w.Status,
		Amount:                w.Amount.Fils(),
		Reason:                w.Reason,
		FailCode:              w.FailCode,
		FailDes:               w.FailDes,
		Remaining:             -1,
	}
	if s != nil && s.RemainRefundAmount != nil {
		r.Remaining = s.RemainRefundAmount.Fils()
	}
	return r, nil
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// orderToWire converts o to PayBy's wire shape, for SignedNotification
// (the sandbox keeps its orders in the wire shape already).
func orderToWire(o *Order) *wire.AcquireOrder {
	w := &wire.AcquireOrder{
		MerchantOrderNo: o.MerchantOrderNo,
		OrderNo:         o.OrderNo,
		Status:          string(o.Status),
		PaySceneCode:    "DYNQR",
		TotalAmount:     wire.AED(o.Amount),
		Subject:         o.Subject,
		Reserved:        o.Reserved,
		NotifyURL:       o.NotifyURL,
		RequestTime:     msOf(o.RequestTime),
		ExpiredTime:     msOf(o.ExpiredTime),
		Revoked:         boolString(o.Revoked),
		FailCode:        o.FailCode,
		FailDes:         o.FailDes,
	}
	if o.StoreID != "" || o.TerminalID != "" {
		w.AccessoryContent = &wire.AccessoryContent{TerminalDetail: &wire.TerminalDetail{StoreID: o.StoreID, TerminalID: o.TerminalID}}
	}
	if o.Status.IsPaid() || o.PaidAmount > 0 {
		w.PaymentInfo = &wire.PaymentInfo{PaidAmount: wire.AED(o.PaidAmount), PaidTime: msOf(o.PaidTime), PayChannel: o.PayChannel, PayerMid: o.PayerMID}
	}
	return w
}

// MarshalNotification returns the JSON body of a notification carrying
// order or refund, in PayBy's field names and order.
func MarshalNotification(notifyID string, at time.Time, order *wire.AcquireOrder, refund *wire.RefundOrder) ([]byte, error) {
	return wire.Marshal(wire.Notification{
		NotifyID:        notifyID,
		NotifyTimestamp: at.UnixMilli(),
		NotifyTime:      at.UTC().Format("20060102150405"),
		InputCharset:    "UTF-8",
		AcquireOrder:    order,
		RefundOrder:     refund,
	})
}
