package lane

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// EncodeRecord serialises a record as its kind (RecordName) and its JSON,
// every instant in UTC without its monotonic reading, so that one record
// always encodes to the same bytes whatever zone the lane's clock used.
// The ledger keeps these bytes in its outbox and the site store in its
// journal; DecodeRecord then EncodeRecord gives the same bytes.
func EncodeRecord(rec Record) (kind string, data []byte, err error) {
	rec = derefRecord(rec)
	if rec == nil {
		return "", nil, fmt.Errorf("lane: encode: nil record")
	}
	kind = rec.recordName()
	if _, ok := recordDecoders[kind]; !ok {
		return "", nil, fmt.Errorf("lane: encode: unknown record %T", rec)
	}
	data, err = json.Marshal(inUTC(reflect.ValueOf(rec)).Interface())
	if err != nil {
		return "", nil, fmt.Errorf("lane: encode %s: %w", kind, err)
	}
	return kind, data, nil
}

// DecodeRecord is the inverse of EncodeRecord.
func DecodeRecord(kind string, data []byte) (Record, error) {
	d, ok := recordDecoders[kind]
	if !ok {
		return nil, fmt.Errorf("lane: unknown record kind %q", kind)
	}
	r, err := d(data)
	if err != nil {
		return nil, fmt.Errorf("lane: decode %s: %w", kind, err)
	}
	return r, nil
}

func decodeAs[T Record](data []byte) (Record, error) {
	var r T
	err := json.Unmarshal(data, &r)
	return r, err
}

var recordDecoders = map[string]func([]byte) (Record, error){
	"visit":       decodeAs[VisitRec],
	"visit_end":   decodeAs[VisitEndRec],
	"order":       decodeAs[OrderRec],
	"status":      decodeAs[StatusRec],
	"abandon":     decodeAs[AbandonRec],
	"exit":        decodeAs[ExitRec],
	"open":        decodeAs[OpenRec],
	"pulse_start": decodeAs[PulseStartRec],
	"pulse":       decodeAs[PulseRec],
	"audit":       decodeAs[AuditRec],
	"refund":      decodeAs[RefundRec],
	"resolve":     decodeAs[ResolveRec],
	"validation":  decodeAs[ValidationRec],
	"reprice":     decodeAs[RepriceRec],
	"shift":       decodeAs[ShiftRec],
}

// derefRecord turns a *VisitRec (say) into the VisitRec the lane writes.
func derefRecord(rec Record) Record {
	if v := reflect.ValueOf(rec); v.Kind() == reflect.Pointer && !v.IsNil() {
		if r, ok := v.Elem().Interface().(Record); ok {
			return r
		}
	}
	return rec
}

var timeType = reflect.TypeFor[time.Time]()

// inUTC returns a deep copy of v with every time.Time in UTC (and without
// its monotonic reading). The caller's value (an ExitRec's Paid pointer,
// say) is not changed.
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
