package station

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
)

// paybyClient is the PayBy client [payby] configures, with PayBy's public
// key (which also verifies notifications).
type paybyClient struct {
	c   *payby.Client
	pub *rsa.PublicKey
}

func newPayByClient(cfg *config.Config, log *slog.Logger, observe func(payby.Attempt)) (*paybyClient, error) {
	key, err := payby.LoadPrivateKey(cfg.PayBy.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	pub, err := payby.LoadPublicKey(cfg.PayBy.PublicKeyFile)
	if err != nil {
		return nil, err
	}
	c, err := payby.New(payby.Options{BaseURL: cfg.PayBy.BaseURL, PartnerID: cfg.PayBy.PartnerID, Key: key, PayByKey: pub,
		Timeout: cfg.PayBy.Timeout, Logger: log.With("component", "payby"), Observe: observe})
	if err != nil {
		return nil, err
	}
	return &paybyClient{c: c, pub: pub}, nil
}

// payments is lane.Payments over the PayBy client: business answers
// become statuses, only transport and gateway failures are errors.
type payments struct {
	c   *payby.Client
	cfg *config.Config
}

func orderState(o *payby.Order) lane.OrderState {
	st := lane.OrderState{PayByStatus: string(o.Status), Paid: o.PaidAmount, PaidAt: o.PaidTime, ServerTime: o.ServerTime}
	switch {
	case o.Status.IsPaid() && !o.Revoked:
		st.Status = lane.OrderPaid
		if st.Paid == 0 {
			st.Paid = o.Amount
		}
	case o.Status == payby.StatusCreated:
		st.Status = lane.OrderCreated
	case o.Status == payby.StatusFailure, o.Revoked:
		st.Status = lane.OrderFailed
	default:
		st.Status = lane.OrderUnknown
	}
	return st
}

func (a *payments) Create(ctx context.Context, o lane.OrderRequest) (lane.Created, error) {
	reserved := "ticket " + o.Serial
	if len(reserved) > payby.MaxReserved {
		reserved = reserved[:payby.MaxReserved]
	}
	c, err := a.c.CreateOrder(ctx, payby.CreateOrder{
		MerchantOrderNo: o.MerchantOrderNo, Amount: o.Amount, Subject: a.cfg.PayBy.Subject, Expire: o.Expire,
		NotifyURL: a.cfg.PayBy.NotifyURL, StoreID: a.cfg.Site.ID, TerminalID: a.cfg.Site.Lane,
		MerchantName: a.cfg.Site.Merchant, StoreName: a.cfg.Site.Name, Reserved: reserved,
	})
	switch {
	case err == nil:
		return lane.Created{TokenURL: c.TokenURL, State: orderState(&c.Order)}, nil
	case payby.IsAlreadyPaid(err):
		st, gerr := a.Get(ctx, o.MerchantOrderNo)
		return lane.Created{State: st}, gerr
	case payby.IsOrderFailed(err):
		return lane.Created{State: lane.OrderState{Status: lane.OrderFailed}}, nil
	}
	return lane.Created{}, err
}

func (a *payments) Get(ctx context.Context, no string) (lane.OrderState, error) {
	o, err := a.c.GetOrder(ctx, no)
	if err != nil {
		if payby.IsNotFound(err) {
			return lane.OrderState{Status: lane.OrderNotFound}, nil
		}
		return lane.OrderState{}, err
	}
	return orderState(o), nil
}

func (a *payments) Cancel(ctx context.Context, no string) (lane.OrderState, error) {
	o, err := a.c.CancelOrder(ctx, no)
	switch {
	case err == nil:
		return orderState(o), nil
	case payby.IsAlreadyPaid(err), errors.Is(err, payby.ErrOrderPaid):
		// The payment won the race: the order is paid.
		if o != nil {
			return orderState(o), nil
		}
		return a.Get(ctx, no)
	case payby.IsOrderFailed(err):
		return lane.OrderState{Status: lane.OrderFailed, PayByStatus: string(payby.StatusFailure)}, nil
	case payby.IsNotFound(err):
		return lane.OrderState{Status: lane.OrderNotFound}, nil
	}
	return lane.OrderState{}, err
}

func (a *payments) Refund(ctx context.Context, no, refundNo string, amount money.Fils, reason string) error {
	if len(reason) > payby.MaxReason {
		reason = reason[:payby.MaxReason]
	}
	_, err := a.c.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: refundNo, OriginMerchantOrderNo: no, Amount: amount, Reason: reason})
	return err
}
