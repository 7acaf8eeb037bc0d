package barrier

import (
	"bytes"
	"errors"
	"testing"
	"testing/synctest"
)

func hex(b ...byte) []byte { return b }

func TestSetFrames(t *testing.T) {
	tests := []struct {
		board string
		ch    int
		on    bool
		want  []byte
	}{
		{"lcus", 1, true, hex(0xA0, 0x01, 0x01, 0xA2)},
		{"lcus", 1, false, hex(0xA0, 0x01, 0x00, 0xA1)},
		{"lcus", 2, true, hex(0xA0, 0x02, 0x01, 0xA3)},
		{"lcus", 4, true, hex(0xA0, 0x04, 0x01, 0xA5)},
		{"lcus", 8, false, hex(0xA0, 0x08, 0x00, 0xA8)},
		{"kmtronic", 1, true, hex(0xFF, 0x01, 0x01)},
		{"kmtronic", 1, false, hex(0xFF, 0x01, 0x00)},
		{"kmtronic", 8, true, hex(0xFF, 0x08, 0x01)},
		{"numato", 1, true, []byte("relay on 0\r")},
		{"numato", 1, false, []byte("relay off 0\r")},
		{"numato", 10, true, []byte("relay on 9\r")},
		{"numato", 11, true, []byte("relay on A\r")},
		{"devantech", 1, true, hex(0x65)},
		{"devantech", 1, false, hex(0x6F)},
		{"devantech", 8, true, hex(0x6C)},
		{"devantech", 8, false, hex(0x76)},
		{"modbus", 1, true, hex(0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A)},
		{"modbus", 1, false, hex(0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA)},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			b, err := NewBoard(tt.board, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			p := &fakePort{}
			if tt.board == "modbus" || tt.board == "numato" {
				p.reply = func(w []byte) []byte { return bytes.Clone(w) } // echo
			}
			if err := b.Set(p, tt.ch, tt.on); err != nil {
				t.Fatalf("%s Set(%d, %v): %v", tt.board, tt.ch, tt.on, err)
			}
			if got := p.all(); !bytes.Equal(got, tt.want) {
				t.Errorf("%s Set(%d, %v) wrote % X, want % X", tt.board, tt.ch, tt.on, got, tt.want)
			}
		})
	}
}

func TestModbusFrames(t *testing.T) {
	if got, want := ModbusReadCoils(1, 0, 8), hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x08, 0x3D, 0xCC); !bytes.Equal(got, want) {
		t.Errorf("read coils % X, want % X", got, want)
	}
	if got, want := ModbusWriteCoil(1, 0, true), hex(0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A); !bytes.Equal(got, want) {
		t.Errorf("write coil % X, want % X", got, want)
	}
}

func TestState(t *testing.T) {
	tests := []struct {
		name    string
		board   string
		ch      int
		query   []byte
		reply   []byte
		want    bool
		wantErr error
	}{
		{"lcus has none", "lcus", 1, nil, nil, false, ErrNoReadback},
		{"kmtronic on", "kmtronic", 1, hex(0xFF, 0x01, 0x03), hex(0xFF, 0x01, 0x01), true, nil},
		{"kmtronic off", "kmtronic", 2, hex(0xFF, 0x02, 0x03), hex(0xFF, 0x02, 0x00), false, nil},
		{"kmtronic other channel", "kmtronic", 1, hex(0xFF, 0x01, 0x03), hex(0xFF, 0x02, 0x01), false, ErrBadReply},
		{"kmtronic silent", "kmtronic", 1, hex(0xFF, 0x01, 0x03), nil, false, ErrNoReply},
		{"kmtronic short", "kmtronic", 1, hex(0xFF, 0x01, 0x03), hex(0xFF), false, ErrNoReply},
		{"numato on", "numato", 1, []byte("relay read 0\r"), []byte("relay read 0\n\ron\n\r>"), true, nil},
		{"numato off", "numato", 3, []byte("relay read 2\r"), []byte("relay read 2\n\roff\n\r>"), false, nil},
		{"numato garbage", "numato", 1, []byte("relay read 0\r"), []byte("relay read 0\n\rmaybe\n\r>"), false, ErrBadReply},
		{"numato no prompt", "numato", 1, []byte("relay read 0\r"), []byte("relay read 0\n\ron"), false, ErrNoReply},
		{"devantech relay 1", "devantech", 1, hex(0x5B), hex(0x01), true, nil},
		{"devantech relay 2 of mask 01", "devantech", 2, hex(0x5B), hex(0x01), false, nil},
		{"devantech relay 8", "devantech", 8, hex(0x5B), hex(0x80), true, nil},
		{"modbus on", "modbus", 1, hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA), withCRC(hex(0x01, 0x01, 0x01, 0x01)), true, nil},
		{"modbus off", "modbus", 1, hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA), withCRC(hex(0x01, 0x01, 0x01, 0x00)), false, nil},
		{"modbus bad crc", "modbus", 1, hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA), hex(0x01, 0x01, 0x01, 0x01, 0x00, 0x00), false, ErrBadReply},
		{"modbus exception", "modbus", 1, hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA), withCRC(hex(0x01, 0x81, 0x02)), false, ErrBadReply},
		{"modbus other slave", "modbus", 1, hex(0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA), withCRC(hex(0x02, 0x01, 0x01, 0x01)), false, ErrBadReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := NewBoard(tt.board, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				p := &fakePort{reply: func([]byte) []byte { return tt.reply }}
				got, err := b.State(p, tt.ch)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("State = %v, %v; want error %v", got, err, tt.wantErr)
				}
				if err == nil && got != tt.want {
					t.Errorf("State = %v, want %v", got, tt.want)
				}
				if q := p.all(); !bytes.Equal(q, tt.query) {
					t.Errorf("query % X, want % X", q, tt.query)
				}
			})
		})
	}
}

func TestModbusWriteNeedsEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := NewBoard("modbus", 1, 0)
		if err := b.Set(&fakePort{}, 1, true); !errors.Is(err, ErrNoReply) {
			t.Errorf("silent board: %v, want ErrNoReply", err)
		}
		wrong := &fakePort{reply: func([]byte) []byte { return ModbusWriteCoil(1, 0, false) }}
		if err := b.Set(wrong, 1, true); !errors.Is(err, ErrBadReply) {
			t.Errorf("wrong echo: %v, want ErrBadReply", err)
		}
	})
}

func TestBoardSettings(t *testing.T) {
	if _, err := NewBoard("hid", 0, 0); !errors.Is(err, ErrBoard) {
		t.Errorf("unknown board: %v", err)
	}
	if _, err := NewBoard("modbus", 300, 0); !errors.Is(err, ErrBoard) {
		t.Errorf("modbus address 300: %v", err)
	}
	b, _ := NewBoard("lcus", 0, 0)
	if err := b.Set(&fakePort{}, 9, true); !errors.Is(err, ErrBoard) {
		t.Errorf("lcus channel 9: %v", err)
	}
	if err := b.Set(&fakePort{}, 0, true); !errors.Is(err, ErrBoard) {
		t.Errorf("lcus channel 0: %v", err)
	}
}

func TestCRC16(t *testing.T) {
	// Reference value of CRC-16/MODBUS for "123456789".
	if got := CRC16([]byte("123456789")); got != 0x4B37 {
		t.Errorf("CRC16 = %#04x, want 0x4b37", got)
	}
}

// FuzzBoardReplies feeds arbitrary board replies to every driver's State
// and Set: no panic, and a state is only returned without an error.
func FuzzBoardReplies(f *testing.F) {
	f.Add([]byte{0xFF, 0x01, 0x01})
	f.Add([]byte("relay read 0\n\ron\n\r>"))
	f.Add([]byte{0x01, 0x01, 0x01, 0x01, 0x90, 0x48})
	f.Add([]byte{0x01, 0x81, 0x02, 0xC1, 0x91})
	f.Add([]byte{0x01, 0x01, 0xFF})
	f.Fuzz(func(t *testing.T, reply []byte) {
		synctest.Test(t, func(t *testing.T) {
			for _, name := range Boards {
				b, _ := NewBoard(name, 1, 0)
				p := &fakePort{reply: func([]byte) []byte { return reply }}
				_, _ = b.State(p, 1)
				_ = b.Set(p, 1, true)
			}
			_, _ = Numato{Timeout: DefaultReplyTimeout}.GPIO(&fakePort{reply: func([]byte) []byte { return reply }}, 0)
		})
	})
}

func TestContactClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBarrier(t, kmtronicPort(false), Options{Board: "kmtronic"})
		if closed, err := b.ContactClosed(); err != nil || closed {
			t.Errorf("kmtronic idle: %v, %v", closed, err)
		}
		lp := kmtronicPort(false)
		low, _ := newTestBarrier(t, lp, Options{Board: "kmtronic", ActiveLow: true})
		// The connect switched the active-low relay on: contact open.
		if closed, err := low.ContactClosed(); err != nil || closed {
			t.Errorf("active-low after connect: %v, %v", closed, err)
		}
		lp.reply([]byte{0xFF, 1, 0})
		if closed, err := low.ContactClosed(); err != nil || !closed {
			t.Errorf("active-low relay off reads as contact closed: %v, %v", closed, err)
		}
		lcus, _ := newTestBarrier(t, &fakePort{}, Options{})
		if _, err := lcus.ContactClosed(); !errors.Is(err, ErrNoReadback) {
			t.Errorf("lcus: %v", err)
		}
	})
}
