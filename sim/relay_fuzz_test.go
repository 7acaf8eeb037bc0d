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

// FuzzPrinterInterp feeds arbitrary bytes to the receipt-printer
// interpreter: no panic, every step makes progress or waits for more
// bytes, and what is rendered fits the paper.
func FuzzPrinterInterp(f *testing.F) {
	f.Add([]byte("\x1b@\x1bt\x00\x1ba\x01\x1bE\x01\x1d!\x11Title\n\x1d!\x00\x1bE\x00\x1dV\x42\x00"))
	f.Add([]byte("\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x06\x1d(k\x05\x001P0AB\x1d(k\x03\x001Q0\n"))
	f.Add([]byte("\x1dv0\x00\x01\x00\x02\x00\xff\x81\x1dv0\x03\x02\x00\x01\x00\xaa\x55"))
	f.Add([]byte("\x10\x04\x04\x10\x04\x01\x1b!\x38x\x1b3\x00y\n\x1bJ\x10\x1bd\x02\t\x1dV\x00"))
	f.Add([]byte("\x1d!\xff\x1b$\x10\x00\x1d(k\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newInterp(58)
		pending := data
		for len(pending) > 0 {
			used, _ := e.step(pending)
			if used < 0 || used > len(pending) {
				t.Fatalf("used %d of %d", used, len(pending))
			}
			if used == 0 {
				break
			}
			pending = pending[used:]
		}
		for _, p := range Render(data, 58) {
			if p.Image.Bounds().Dx() != 384 {
				t.Fatalf("paper %d dots wide", p.Image.Bounds().Dx())
			}
		}
	})
}
