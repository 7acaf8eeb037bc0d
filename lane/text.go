package lane

import "fmt"

// The text forms below are what the ledger stores in its TEXT columns
// (orders.status, exits.cause, barrier_events.cause, entries.cause). They
// are the spellings ledgers have always held: changing one would make
// existing ledgers read differently, so ledger's tests pin them.

// MarshalText writes the status as the ledger stores it: an order with no
// answer yet (OrderUnknown) is "new" (its number stored, placeOrder not
// answered); the others are their String.
func (s OrderStatus) MarshalText() ([]byte, error) {
	switch {
	case s == OrderUnknown:
		return []byte("new"), nil
	case s > OrderUnknown && int(s) < len(orderStatusNames):
		return []byte(orderStatusNames[s]), nil
	}
	return nil, fmt.Errorf("lane: no text for %s", s)
}

// UnmarshalText reads a status written by MarshalText (or its String).
func (s *OrderStatus) UnmarshalText(b []byte) error {
	if string(b) == "new" {
		*s = OrderUnknown
		return nil
	}
	for i, n := range orderStatusNames {
		if n == string(b) {
			*s = OrderStatus(i)
			return nil
		}
	}
	return fmt.Errorf("lane: unknown order status %q", b)
}

// MarshalText writes the cause as its String, except CauseNone, which is
// empty (a ledger line with no cause).
func (c Cause) MarshalText() ([]byte, error) {
	switch {
	case c == CauseNone:
		return []byte{}, nil
	case c > CauseNone && int(c) < len(causeNames):
		return []byte(causeNames[c]), nil
	}
	return nil, fmt.Errorf("lane: no text for %s", c)
}

// UnmarshalText reads a cause written by MarshalText (or its String).
func (c *Cause) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = CauseNone
		return nil
	}
	for i, n := range causeNames {
		if n == string(b) {
			*c = Cause(i)
			return nil
		}
	}
	return fmt.Errorf("lane: unknown cause %q", b)
}

// UnmarshalText reads a state's String ("idle", "fee_due", ...), as the
// lane publishes it to the site store.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("lane: unknown state %q", b)
}
