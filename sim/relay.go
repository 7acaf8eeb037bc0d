package sim

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Misbehaviour makes the relay emulator fail in one way.
type Misbehaviour int

const (
	// Behave: a healthy board.
	Behave Misbehaviour = iota
	// NoReply: commands act, but queries (and Modbus/Numato echoes) get
	// no answer.
	NoReply
	// WrongReply: answers report the opposite relay state (and Modbus
	// echoes are corrupted).
	WrongReply
	// Stuck: relays ignore commands; answers tell the truth.
	Stuck
)

func (m Misbehaviour) String() string {
	switch m {
	case Behave:
		return "behave"
	case NoReply:
		return "no-reply"
	case WrongReply:
		return "wrong-reply"
	case Stuck:
		return "stuck"
	}
	return "Misbehaviour(" + strconv.Itoa(int(m)) + ")"
}

// RelayOptions configures the relay-board emulator. Zero fields mean the
// defaults.
type RelayOptions struct {
	// Channels is the number of relays; default 8.
	Channels int
	// Address is the Modbus slave address; default 1.
	Address int
	// OwnSupply: the board has its own power supply (an RS-232 or RS-485
	// board behind a USB adapter), so unplugging the adapter leaves its
	// relays as they are. Default: a USB-powered board, whose relays drop
	// to off when unplugged.
	OwnSupply bool
	// OnFrame is called for every decoded frame, in order, from the
	// emulator's goroutine, after any reply was sent (the relay emulate
	// command prints them). It may call the Relay's methods.
	OnFrame func(Frame)
}

// Frame is one decoded command as the board received it.
type Frame struct {
	// At is when the read that carried the frame's first byte returned.
	At    time.Time
	Bytes []byte
	// Desc says what the board made of it: "ch1 on", "query ch1",
	// "junk".
	Desc string
}

// RelayChange is one change of a relay's state.
type RelayChange struct {
	At      time.Time
	Channel int
	On      bool
}

// Relay emulates a serial relay board of one of the supported families
// (lcus, kmtronic, numato, devantech, modbus) on a pty.
type Relay struct {
	board string
	opts  RelayOptions
	ep    *endpoint

	mu       sync.Mutex
	state    []bool // index 0 is channel 1
	gpio     [32]bool
	mode     Misbehaviour
	timeline []RelayChange
	frames   []Frame
	outbox   []Frame // frames not yet passed to OnFrame
}

// NewRelay starts an emulator of board ("" means lcus).
func NewRelay(board string, opts RelayOptions) (*Relay, error) {
	if board == "" {
		board = "lcus"
	}
	switch board {
	case "lcus", "kmtronic", "numato", "devantech", "modbus":
	default:
		return nil, fmt.Errorf("sim: unknown relay board %q", board)
	}
	if opts.Channels <= 0 {
		opts.Channels = 8
	}
	if opts.Address == 0 {
		opts.Address = 1
	}
	r := &Relay{board: board, opts: opts, state: make([]bool, opts.Channels)}
	ep, err := newEndpoint("relay", r.serve)
	if err != nil {
		return nil, err
	}
	r.ep = ep
	return r, nil
}

// Path is the stable path of the board's port (a symlink to the pty).
func (r *Relay) Path() string { return r.ep.link }

// Board is the emulated board family.
func (r *Relay) Board() string { return r.board }

// State reports relay ch (from 1).
func (r *Relay) State(ch int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ch >= 1 && ch <= len(r.state) && r.state[ch-1]
}

// Timeline returns every relay change so far.
func (r *Relay) Timeline() []RelayChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RelayChange(nil), r.timeline...)
}

// Frames returns every decoded frame so far.
func (r *Relay) Frames() []Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Frame(nil), r.frames...)
}

// Misbehave switches the board's failure mode (Behave to heal it).
func (r *Relay) Misbehave(m Misbehaviour) {
	r.mu.Lock()
	r.mode = m
	r.mu.Unlock()
}

// SetGPIO sets a Numato GPIO input level (a simulated loop detector).
func (r *Relay) SetGPIO(n int, high bool) {
	r.mu.Lock()
	if n >= 0 && n < len(r.gpio) {
		r.gpio[n] = high
	}
	r.mu.Unlock()
}

// Unplug makes the board vanish: its port fails and its path is gone. A
// USB board loses power when unplugged, so its relays drop to off (and the
// timeline says so); a board with its own supply keeps them.
func (r *Relay) Unplug() {
	r.ep.unplug()
	if r.opts.OwnSupply {
		return
	}
	r.mu.Lock()
	now := time.Now()
	for i, on := range r.state {
		if on {
			r.state[i] = false
			r.timeline = append(r.timeline, RelayChange{At: now, Channel: i + 1, On: false})
		}
	}
	r.mu.Unlock()
}

// Replug brings the board back behind the same Path.
func (r *Relay) Replug() error { return r.ep.plug() }

// Close unplugs the board and removes its directory.
func (r *Relay) Close() error {
	r.ep.close()
	return nil
}

// serve reads the master side until the pty is closed.
func (r *Relay) serve(m *os.File) {
	var pending []byte
	var firstAt time.Time
	buf := make([]byte, 256)
	for {
		n, err := m.Read(buf)
		if n > 0 {
			now := time.Now()
			if len(pending) == 0 {
				firstAt = now
			}
			pending = append(pending, buf[:n]...)
			for len(pending) > 0 {
				used, reply := r.decode(pending, firstAt)
				if used == 0 {
					break
				}
				pending = pending[used:]
				firstAt = now
				if len(reply) > 0 {
					m.Write(reply)
				}
				r.deliver()
			}
		}
		if err != nil {
			return
		}
	}
}

// decode takes one frame from the front of b, applies it and returns the
// bytes used (0: incomplete) and the reply.
func (r *Relay) decode(b []byte, at time.Time) (int, []byte) {
	switch r.board {
	case "lcus":
		return r.lcus(b, at)
	case "kmtronic":
		return r.kmtronic(b, at)
	case "numato":
		return r.numato(b, at)
	case "devantech":
		return r.devantech(b, at)
	case "modbus":
		return r.modbus(b, at)
	}
	return len(b), nil
}

// record logs a frame; r.mu is held.
func (r *Relay) record(at time.Time, b []byte, desc string) {
	f := Frame{At: at, Bytes: bytes.Clone(b), Desc: desc}
	r.frames = append(r.frames, f)
	if r.opts.OnFrame != nil {
		r.outbox = append(r.outbox, f)
	}
}

// deliver passes recorded frames to OnFrame, outside r.mu.
func (r *Relay) deliver() {
	r.mu.Lock()
	out := r.outbox
	r.outbox = nil
	r.mu.Unlock()
	for _, f := range out {
		r.opts.OnFrame(f)
	}
}

// set switches a relay (unless stuck) and logs a change; r.mu is held.
func (r *Relay) set(at time.Time, ch int, on bool) {
	if r.mode == Stuck || ch < 1 || ch > len(r.state) || r.state[ch-1] == on {
		return
	}
	r.state[ch-1] = on
	r.timeline = append(r.timeline, RelayChange{At: at, Channel: ch, On: on})
}

// report is the state as answered; r.mu is held.
func (r *Relay) report(ch int) bool {
	on := ch >= 1 && ch <= len(r.state) && r.state[ch-1]
	if r.mode == WrongReply {
		return !on
	}
	return on
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func (r *Relay) junk(b []byte, at time.Time) (int, []byte) {
	r.record(at, b[:1], "junk")
	return 1, nil
}

// lcus: A0 ch state sum. The status query is not emulated (clones differ).
func (r *Relay) lcus(b []byte, at time.Time) (int, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b[0] != 0xA0 {
		return r.junk(b, at)
	}
	if len(b) < 4 {
		return 0, nil
	}
	if b[2] > 1 || b[3] != 0xA0+b[1]+b[2] {
		return r.junk(b, at)
	}
	ch, on := int(b[1]), b[2] == 1
	r.record(at, b[:4], fmt.Sprintf("ch%d %s", ch, onOff(on)))
	r.set(at, ch, on)
	return 4, nil
}

// kmtronic: FF ch 00/01 sets, FF ch 03 asks, FF 09 00 asks all.
func (r *Relay) kmtronic(b []byte, at time.Time) (int, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b[0] != 0xFF {
		return r.junk(b, at)
	}
	if len(b) < 3 {
		return 0, nil
	}
	ch, cmd := int(b[1]), b[2]
	switch {
	case ch == 9 && cmd == 0:
		r.record(at, b[:3], "query all")
		if r.mode == NoReply {
			return 3, nil
		}
		out := make([]byte, len(r.state))
		for i := range out {
			if r.report(i + 1) {
				out[i] = 1
			}
		}
		return 3, out
	case cmd <= 1:
		r.record(at, b[:3], fmt.Sprintf("ch%d %s", ch, onOff(cmd == 1)))
		r.set(at, ch, cmd == 1)
		return 3, nil
	case cmd == 3:
		r.record(at, b[:3], fmt.Sprintf("query ch%d", ch))
		if r.mode == NoReply {
			return 3, nil
		}
		st := byte(0)
		if r.report(ch) {
			st = 1
		}
		return 3, []byte{0xFF, byte(ch), st}
	}
	return r.junk(b, at)
}

// numato: ASCII commands ending in CR; echo, answer, prompt.
func (r *Relay) numato(b []byte, at time.Time) (int, []byte) {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		if len(b) > 128 {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.record(at, b, "junk")
			return len(b), nil
		}
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	line := string(b[:i])
	used := i + 1
	if strings.TrimSpace(line) == "" {
		return used, nil
	}
	var answer string
	f := strings.Fields(line)
	idx := func(s string) int {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		if len(s) == 1 && s[0] >= 'A' && s[0] <= 'V' {
			return int(s[0]-'A') + 10
		}
		return -1
	}
	switch {
	case len(f) == 3 && f[0] == "relay" && (f[1] == "on" || f[1] == "off") && idx(f[2]) >= 0:
		ch := idx(f[2]) + 1
		r.record(at, b[:used], fmt.Sprintf("ch%d %s", ch, f[1]))
		r.set(at, ch, f[1] == "on")
	case len(f) == 3 && f[0] == "relay" && f[1] == "read" && idx(f[2]) >= 0:
		ch := idx(f[2]) + 1
		r.record(at, b[:used], fmt.Sprintf("query ch%d", ch))
		answer = onOff(r.report(ch)) + "\n\r"
	case len(f) == 3 && f[0] == "gpio" && f[1] == "read" && idx(f[2]) >= 0 && idx(f[2]) < len(r.gpio):
		n := idx(f[2])
		r.record(at, b[:used], fmt.Sprintf("gpio read %d", n))
		lvl := r.gpio[n]
		if r.mode == WrongReply {
			lvl = !lvl
		}
		answer = "0\n\r"
		if lvl {
			answer = "1\n\r"
		}
	case len(f) == 1 && f[0] == "ver":
		r.record(at, b[:used], "version")
		answer = "00000008\n\r"
	default:
		r.record(at, b[:used], "unknown command")
	}
	if r.mode == NoReply {
		return used, nil
	}
	return used, []byte(line + "\n\r" + answer + ">")
}

// devantech: single command bytes.
func (r *Relay) devantech(b []byte, at time.Time) (int, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := b[0]
	switch {
	case c >= 0x65 && c <= 0x6C:
		ch := int(c-0x65) + 1
		r.record(at, b[:1], fmt.Sprintf("ch%d on", ch))
		r.set(at, ch, true)
	case c >= 0x6F && c <= 0x76:
		ch := int(c-0x6F) + 1
		r.record(at, b[:1], fmt.Sprintf("ch%d off", ch))
		r.set(at, ch, false)
	case c == 0x64 || c == 0x6E:
		r.record(at, b[:1], "all "+onOff(c == 0x64))
		for ch := 1; ch <= len(r.state); ch++ {
			r.set(at, ch, c == 0x64)
		}
	case c == 0x5C:
		if len(b) < 2 {
			return 0, nil
		}
		r.record(at, b[:2], fmt.Sprintf("set mask %08b", b[1]))
		for ch := 1; ch <= len(r.state) && ch <= 8; ch++ {
			r.set(at, ch, b[1]&(1<<(ch-1)) != 0)
		}
		return 2, nil
	case c == 0x5B:
		r.record(at, b[:1], "query mask")
		if r.mode == NoReply {
			return 1, nil
		}
		var mask byte
		for ch := 1; ch <= len(r.state) && ch <= 8; ch++ {
			if r.report(ch) {
				mask |= 1 << (ch - 1)
			}
		}
		return 1, []byte{mask}
	case c == 0x5A:
		r.record(at, b[:1], "version")
		if r.mode == NoReply {
			return 1, nil
		}
		return 1, []byte{0x08, 0x01}
	default:
		return r.junk(b, at)
	}
	return 1, nil
}

// modbusCRC is CRC-16/MODBUS, written here again (not taken from barrier)
// so the emulator checks the driver rather than agreeing with it.
func modbusCRC(b []byte) []byte {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for i := 0; i < 8; i++ {
			if crc&1 == 1 {
				crc = (crc >> 1) ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return []byte{byte(crc & 0xFF), byte(crc >> 8)}
}

// modbus: 8-byte requests, functions 05 (write coil) and 01 (read coils).
func (r *Relay) modbus(b []byte, at time.Time) (int, []byte) {
	if len(b) < 8 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	req := b[:8]
	if !bytes.Equal(modbusCRC(req[:6]), req[6:8]) {
		// A real slave stays silent on a bad CRC; drop a byte to resync.
		return r.junk(b, at)
	}
	if int(req[0]) != r.opts.Address {
		r.record(at, req, fmt.Sprintf("for slave %d", req[0]))
		return 8, nil
	}
	addr := int(req[2])<<8 | int(req[3])
	val := int(req[4])<<8 | int(req[5])
	var reply []byte
	switch req[1] {
	case 0x05:
		if val != 0xFF00 && val != 0x0000 || addr >= len(r.state) {
			r.record(at, req, "bad write")
			reply = append([]byte{req[0], 0x85, 0x03}, modbusCRC([]byte{req[0], 0x85, 0x03})...)
			break
		}
		on := val == 0xFF00
		r.record(at, req, fmt.Sprintf("ch%d %s", addr+1, onOff(on)))
		r.set(at, addr+1, on)
		reply = bytes.Clone(req)
		if r.mode == WrongReply {
			reply[4] ^= 0xFF
			copy(reply[6:], modbusCRC(reply[:6]))
		}
	case 0x01:
		if val < 1 || addr+val > len(r.state) {
			r.record(at, req, "bad read")
			reply = append([]byte{req[0], 0x81, 0x02}, modbusCRC([]byte{req[0], 0x81, 0x02})...)
			break
		}
		r.record(at, req, fmt.Sprintf("query ch%d..%d", addr+1, addr+val))
		data := make([]byte, (val+7)/8)
		for i := 0; i < val; i++ {
			if r.report(addr + 1 + i) {
				data[i/8] |= 1 << (i % 8)
			}
		}
		reply = append([]byte{req[0], 0x01, byte(len(data))}, data...)
		reply = append(reply, modbusCRC(reply)...)
	default:
		r.record(at, req, fmt.Sprintf("function %#02x", req[1]))
		reply = append([]byte{req[0], req[1] | 0x80, 0x01}, modbusCRC([]byte{req[0], req[1] | 0x80, 0x01})...)
	}
	if r.mode == NoReply {
		return 8, nil
	}
	return 8, reply
}
