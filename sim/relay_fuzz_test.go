package sim

import (
	"testing"
	"time"
)

// FuzzRelayDecode feeds arbitrary driver bytes to every board decoder:
// no panic, every call makes progress or waits for more bytes, and the
// relay count never changes.
func FuzzRelayDecode(f *testing.F) {
	f.Add([]byte{0xA0, 0x01, 0x01, 0xA2})
	f.Add([]byte{0xFF, 0x01, 0x03, 0xFF, 0x09, 0x00})
	f.Add([]byte("relay on 0\rrelay read Z\rgpio read 99\r"))
	f.Add([]byte{0x65, 0x5C, 0xFF, 0x5B})
	f.Add([]byte{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A})
	f.Add([]byte{0x01, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, board := range []string{"lcus", "kmtronic", "numato", "devantech", "modbus"} {
			for _, mode := range []Misbehaviour{Behave, WrongReply} {
				r := &Relay{board: board, opts: RelayOptions{Channels: 8, Address: 1}, state: make([]bool, 8), mode: mode}
				pending := data
				for len(pending) > 0 {
					used, _ := r.decode(pending, time.Time{})
					if used < 0 || used > len(pending) {
						t.Fatalf("%s: used %d of %d", board, used, len(pending))
					}
					if used == 0 {
						break
					}
					pending = pending[used:]
				}
				if len(r.state) != 8 {
					t.Fatalf("%s: %d relays", board, len(r.state))
				}
			}
		}
	})
}
