package sitestore

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// Encode serialises a lane record as the journal keeps it: its kind
// (visit, order, status, exit, ...) and its JSON, with every instant in
// UTC. A lane's outbox can keep these bytes and resend them unchanged:
// Decode then Encode gives the same bytes.
func Encode(rec lane.Record) (kind string, data []byte, err error) {
	rec = deref(rec)
	kind, _ = kindOf(rec)
	if kind == "" {
		return "", nil, fmt.Errorf("sitestore: unknown record %T", rec)
	}
	data, err = json.Marshal(inUTC(reflect.ValueOf(rec)).Interface())
	if err != nil {
		return "", nil, fmt.Errorf("sitestore: encode %s: %w", kind, err)
	}
	return kind, data, nil
}

// Decode is the inverse of Encode.
func Decode(kind string, data []byte) (lane.Record, error) {
	d, ok := decoders[kind]
	if !ok {
		return nil, fmt.Errorf("sitestore: unknown record kind %q", kind)
	}
	r, err := d(data)
	if err != nil {
		return nil, fmt.Errorf("sitestore: decode %s: %w", kind, err)
	}
	return r, nil
}

func decodeAs[T lane.Record](data []byte) (lane.Record, error) {
	var r T
	err := json.Unmarshal(data, &r)
	return r, err
}

var decoders = map[string]func([]byte) (lane.Record, error){
	"visit":      decodeAs[lane.VisitRec],
	"visit_end":  decodeAs[lane.VisitEndRec],
	"order":      decodeAs[lane.OrderRec],
	"status":     decodeAs[lane.StatusRec],
	"abandon":    decodeAs[lane.AbandonRec],
	"exit":       decodeAs[lane.ExitRec],
	"open":       decodeAs[lane.OpenRec],
	"pulse":      decodeAs[lane.PulseRec],
	"audit":      decodeAs[lane.AuditRec],
	"refund":     decodeAs[lane.RefundRec],
	"resolve":    decodeAs[lane.ResolveRec],
	"validation": decodeAs[lane.ValidationRec],
	"shift":      decodeAs[lane.ShiftRec],
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

var timeType = reflect.TypeFor[time.Time]()

// inUTC returns a deep copy of v with every time.Time in UTC (and without
// its monotonic reading), so that one instant always encodes the same way
// whatever zone the lane's clock used. The caller's value (an ExitRec's
// Paid pointer, say) is not changed.
func inUTC(v reflect.Value) reflect.Value {
	if v.Type() == timeType {
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	}
	switch v.Kind() {
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if f := out.Field(i); f.CanSet() {
				f.Set(inUTC(v.Field(i)))
			}
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(inUTC(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(inUTC(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(inUTC(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), inUTC(it.Value()))
		}
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(inUTC(v.Elem()))
		return out
	}
	return v
}
