package sitestore

import (
	"fmt"
	"reflect"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// Encode serialises a lane record as the journal keeps it: its kind
// (visit, order, status, exit, ...) and its JSON, with every instant in
// UTC (lane.EncodeRecord, the encoding a lane's outbox keeps too). Decode
// then Encode gives the same bytes. A record the store does not know is
// refused.
func Encode(rec lane.Record) (kind string, data []byte, err error) {
	rec = deref(rec)
	if k, _ := kindOf(rec); k == "" {
		return "", nil, fmt.Errorf("sitestore: unknown record %T", rec)
	}
	kind, data, err = lane.EncodeRecord(rec)
	if err != nil {
		return "", nil, fmt.Errorf("sitestore: %w", err)
	}
	return kind, data, nil
}

// Decode is the inverse of Encode.
func Decode(kind string, data []byte) (lane.Record, error) {
	r, err := lane.DecodeRecord(kind, data)
	if err != nil {
		return nil, fmt.Errorf("sitestore: %w", err)
	}
	if k, _ := kindOf(r); k == "" {
		return nil, fmt.Errorf("sitestore: unknown record kind %q", kind)
	}
	return r, nil
}

// kindOf names a record and returns its own instant.
func kindOf(rec lane.Record) (string, time.Time) {
	switch r := rec.(type) {
	case lane.VisitRec:
		return "visit", r.At
	case lane.VisitEndRec:
		return "visit_end", r.At
	case lane.OrderRec:
		return "order", r.At
	case lane.StatusRec:
		return "status", r.At
	case lane.AbandonRec:
		return "abandon", r.At
	case lane.ExitRec:
		return "exit", r.At
	case lane.OpenRec:
		return "open", r.At
	case lane.PulseStartRec:
		return "pulse_start", r.At
	case lane.PulseRec:
		return "pulse", r.At
	case lane.AuditRec:
		return "audit", r.At
	case lane.RefundRec:
		return "refund", r.At
	case lane.ResolveRec:
		return "resolve", r.At
	case lane.ValidationRec:
		return "validation", r.At
	case lane.ShiftRec:
		return "shift", r.At
	}
	return "", time.Time{}
}

// deref turns a *lane.VisitRec (say) into the lane.VisitRec the lane
// writes.
func deref(rec lane.Record) lane.Record {
	if v := reflect.ValueOf(rec); v.Kind() == reflect.Pointer && !v.IsNil() {
		if r, ok := v.Elem().Interface().(lane.Record); ok {
			return r
		}
	}
	return rec
}
