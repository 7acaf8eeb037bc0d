package sandbox

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Always as a fault count applies the fault to every API call.
const Always = -1

// Faults are the failure switches. Counts mean: 0 off, N > 0 the next N API
// calls (each hit counts down), Always (-1) every call. At most one of the
// per-call faults applies to a call, checked in the order of the fields.
type Faults struct {
	// Latency is added before every API response.
	Latency time.Duration `json:"-"`
	// HTTP5xx answers HTTP 503 without processing the call.
	HTTP5xx int `json:"http5xx,omitempty"`
	// GatewayErrors answers an unsigned gateway error (head code
	// GatewayCode, default "500" SYSTEM_ERROR) without processing the call.
	GatewayErrors int    `json:"gatewayErrors,omitempty"`
	GatewayCode   string `json:"gatewayCode,omitempty"`
	// LostResponses processes the call, then answers HTTP 504 with no
	// body: the caller cannot know whether it happened.
	LostResponses int `json:"lostResponses,omitempty"`
	// BadSignatures processes the call and signs the answer wrongly.
	BadSignatures int `json:"badSignatures,omitempty"`
	// DuplicateNotify delivers every notification twice.
	DuplicateNotify bool `json:"duplicateNotify,omitempty"`
	// DropNotify sends no notifications at all.
	DropNotify bool `json:"dropNotify,omitempty"`
	// PayRacesCancel makes a cancel of an unpaid order find it paid just
	// before (the driver paid as the lane gave up): 62001 ORDER_PAID.
	PayRacesCancel bool `json:"payRacesCancel,omitempty"`
}

// MarshalJSON writes Latency as a duration string ("1.5s").
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	return json.Marshal(struct {
		Latency string `json:"latency,omitempty"`
		plain
	}{Latency: durString(f.Latency), plain: plain(f)})
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// UnmarshalJSON reads Latency as a duration string.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var v struct {
		Latency string `json:"latency"`
		plain
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*f = Faults(v.plain)
	if v.Latency != "" {
		d, err := time.ParseDuration(v.Latency)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		f.Latency = d
	}
	return nil
}

func (f Faults) String() string {
	var parts []string
	add := func(name string, n int) {
		switch {
		case n == Always:
			parts = append(parts, name+"=always")
		case n > 0:
			parts = append(parts, fmt.Sprintf("%s=%d", name, n))
		}
	}
	if f.Latency > 0 {
		parts = append(parts, "latency="+f.Latency.String())
	}
	add("http5xx", f.HTTP5xx)
	add("gateway", f.GatewayErrors)
	add("lost", f.LostResponses)
	add("badsign", f.BadSignatures)
	if f.DuplicateNotify {
		parts = append(parts, "duplicate-notify")
	}
	if f.DropNotify {
		parts = append(parts, "drop-notify")
	}
	if f.PayRacesCancel {
		parts = append(parts, "pay-races-cancel")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// take reports whether a counted fault applies now and counts it down.
func take(n *int) bool {
	switch {
	case *n == Always:
		return true
	case *n > 0:
		*n--
		return true
	}
	return false
}
