package barrier

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// boardError is a board's misbehaviour or a bad board setting: it matches
// serialport.ErrDevice, so the Link keeps the port open (the board, not
// the port, is at fault).
type boardError string

func (e boardError) Error() string        { return string(e) }
func (e boardError) Is(target error) bool { return target == serialport.ErrDevice }

// Sentinel errors, all board faults (errors.Is(err, serialport.ErrDevice)):
// the port stays open. Any other error from a Port is taken as the port
// being lost.
var (
	// ErrNoReply: the board did not answer a query in time.
	ErrNoReply error = boardError("no reply from board")
	// ErrBadReply: the board answered something that is not a valid reply.
	ErrBadReply error = boardError("bad reply from board")
	// ErrNoReadback: the board cannot report relay state (LCUS).
	ErrNoReadback error = boardError("board cannot report relay state")
	// ErrMismatch: the state read back is not the state just set.
	ErrMismatch error = boardError("relay state read back differs")
	// ErrBoard: unknown board name or channel out of range.
	ErrBoard error = boardError("bad board setting")
)

// Board is the wire protocol of one relay-board family. Channels are
// numbered from 1 as printed on the board; drivers map them to the wire
// (Numato, Devantech and Modbus count from 0 there). on is the relay's own
// state (coil energised); active-low wiring is handled by the Barrier.
type Board interface {
	// Name is the board family as written in the config.
	Name() string
	// Set switches one relay.
	Set(p serialport.Port, ch int, on bool) error
	// State reads one relay back; ErrNoReadback when the board cannot.
	State(p serialport.Port, ch int) (bool, error)
	// MaxChannel is the highest channel the protocol can address.
	MaxChannel() int
}

// Boards lists the supported board names; "lcus" is the default.
var Boards = []string{"lcus", "kmtronic", "numato", "devantech", "modbus"}

// DefaultReplyTimeout bounds the wait for a board's reply.
const DefaultReplyTimeout = 200 * time.Millisecond

// NewBoard returns the driver for a board family. address is the Modbus
// slave address (0 means 1; ignored by other boards); timeout bounds each
// reply (0 means DefaultReplyTimeout).
func NewBoard(name string, address int, timeout time.Duration) (Board, error) {
	if timeout <= 0 {
		timeout = DefaultReplyTimeout
	}
	switch strings.ToLower(name) {
	case "", "lcus":
		return LCUS{}, nil
	case "kmtronic":
		return KMtronic{Timeout: timeout}, nil
	case "numato":
		return Numato{Timeout: timeout}, nil
	case "devantech":
		return Devantech{Timeout: timeout}, nil
	case "modbus":
		if address == 0 {
			address = 1
		}
		if address < 1 || address > 247 {
			return nil, fmt.Errorf("%w: modbus address %d (1-247)", ErrBoard, address)
		}
		return Modbus{Address: byte(address), Timeout: timeout}, nil
	}
	return nil, fmt.Errorf("%w: board %q (one of %s)", ErrBoard, name, strings.Join(Boards, ", "))
}

// ReadsBack reports whether the board can report relay state (all but
// LCUS, whose status query differs from clone to clone).
func ReadsBack(b Board) bool {
	_, lcus := b.(LCUS)
	return !lcus
}

func checkChannel(b Board, ch int) error {
	if ch < 1 || ch > b.MaxChannel() {
		return fmt.Errorf("%w: %s channel %d (1-%d)", ErrBoard, b.Name(), ch, b.MaxChannel())
	}
	return nil
}

func write(p serialport.Port, frame []byte) error {
	n, err := p.Write(frame)
	if err != nil {
		return err
	}
	if n != len(frame) {
		return fmt.Errorf("short write: %d of %d bytes", n, len(frame))
	}
	return nil
}

// LCUS is the LC Technology LCUS-1/2/4/8 (CH340, 9600 8N1): frames
// A0 ch state sum, sum = (A0+ch+state) & 0xFF. Its status query differs
// from clone to clone, so the driver never reads state back.
type LCUS struct{}

func (LCUS) Name() string                             { return "lcus" }
func (LCUS) MaxChannel() int                          { return 8 }
func (LCUS) State(serialport.Port, int) (bool, error) { return false, ErrNoReadback }

// LCUSFrame is the frame that switches channel ch.
func LCUSFrame(ch int, on bool) []byte {
	st := byte(0)
	if on {
		st = 1
	}
	return []byte{0xA0, byte(ch), st, 0xA0 + byte(ch) + st}
}

func (b LCUS) Set(p serialport.Port, ch int, on bool) error {
	if err := checkChannel(b, ch); err != nil {
		return err
	}
	return write(p, LCUSFrame(ch, on))
}

// KMtronic is the KMtronic USB relay (FF ch state; FF ch 03 asks the state
// and the board answers FF ch 00/01).
type KMtronic struct{ Timeout time.Duration }

func (KMtronic) Name() string    { return "kmtronic" }
func (KMtronic) MaxChannel() int { return 8 }

func (b KMtronic) Set(p serialport.Port, ch int, on bool) error {
	if err := checkChannel(b, ch); err != nil {
		return err
	}
	st := byte(0)
	if on {
		st = 1
	}
	return write(p, []byte{0xFF, byte(ch), st})
}

func (b KMtronic) State(p serialport.Port, ch int) (bool, error) {
	if err := checkChannel(b, ch); err != nil {
		return false, err
	}
	discardInput(p)
	if err := write(p, []byte{0xFF, byte(ch), 0x03}); err != nil {
		return false, err
	}
	r, err := readFull(p, 3, b.Timeout)
	if err != nil {
		return false, err
	}
	if r[0] != 0xFF || r[1] != byte(ch) || r[2] > 1 {
		return false, fmt.Errorf("%w: % X", ErrBadReply, r)
	}
	return r[2] == 1, nil
}

// Numato is the Numato Lab USB relay module (CDC-ACM, ASCII commands ending
// in CR: "relay on 0", "relay read 0"). It echoes each command and ends
// every answer with a '>' prompt. Channels on the wire count from 0 and go
// on with letters after 9 ("relay on A" is the eleventh relay).
type Numato struct{ Timeout time.Duration }

func (Numato) Name() string    { return "numato" }
func (Numato) MaxChannel() int { return 32 }

// numatoIndex is the wire index of channel ch (1-based).
func numatoIndex(ch int) string {
	i := ch - 1
	if i < 10 {
		return strconv.Itoa(i)
	}
	return string(rune('A' + i - 10))
}

// exchange sends one command and returns the answer without the echo and
// the prompt.
func (b Numato) exchange(p serialport.Port, cmd string) (string, error) {
	discardInput(p)
	if err := write(p, []byte(cmd+"\r")); err != nil {
		return "", err
	}
	r, err := readUntil(p, '>', 128, b.Timeout)
	if err != nil {
		return "", err
	}
	var vals []string
	for _, line := range strings.FieldsFunc(string(r), func(c rune) bool { return c == '\r' || c == '\n' || c == '>' }) {
		line = strings.TrimSpace(line)
		if line != "" && line != cmd {
			vals = append(vals, line)
		}
	}
	return strings.Join(vals, " "), nil
}

func (b Numato) Set(p serialport.Port, ch int, on bool) error {
	if err := checkChannel(b, ch); err != nil {
		return err
	}
	word := "off"
	if on {
		word = "on"
	}
	// The echo and prompt are read (and dropped) so that they cannot be
	// taken for the answer of the next query. A board that stays silent
	// is not an error here: the read-back will tell.
	_, err := b.exchange(p, "relay "+word+" "+numatoIndex(ch))
	if err != nil && !errors.Is(err, ErrNoReply) {
		return err
	}
	return nil
}

func (b Numato) State(p serialport.Port, ch int) (bool, error) {
	if err := checkChannel(b, ch); err != nil {
		return false, err
	}
	v, err := b.exchange(p, "relay read "+numatoIndex(ch))
	if err != nil {
		return false, err
	}
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", ErrBadReply, v)
}

// GPIO reads a Numato GPIO input (0-based index on the wire, 0..31 here
// passed as is): true when the input is high.
func (b Numato) GPIO(p serialport.Port, n int) (bool, error) {
	if n < 0 || n > 31 {
		return false, fmt.Errorf("%w: numato gpio %d (0-31)", ErrBoard, n)
	}
	idx := strconv.Itoa(n)
	if n >= 10 {
		idx = string(rune('A' + n - 10))
	}
	v, err := b.exchange(p, "gpio read "+idx)
	if err != nil {
		return false, err
	}
	switch v {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", ErrBadReply, v)
}

// Devantech is the Devantech USB-RLY02/08/16 family: single command bytes,
// 0x65+i switches relay i+1 on, 0x6F+i off, 0x5B answers a state bitmask.
type Devantech struct{ Timeout time.Duration }

func (Devantech) Name() string    { return "devantech" }
func (Devantech) MaxChannel() int { return 8 }

func (b Devantech) Set(p serialport.Port, ch int, on bool) error {
	if err := checkChannel(b, ch); err != nil {
		return err
	}
	base := byte(0x6F)
	if on {
		base = 0x65
	}
	return write(p, []byte{base + byte(ch-1)})
}

func (b Devantech) State(p serialport.Port, ch int) (bool, error) {
	if err := checkChannel(b, ch); err != nil {
		return false, err
	}
	discardInput(p)
	if err := write(p, []byte{0x5B}); err != nil {
		return false, err
	}
	r, err := readFull(p, 1, b.Timeout)
	if err != nil {
		return false, err
	}
	return r[0]&(1<<(ch-1)) != 0, nil
}

// Modbus is a Modbus-RTU coil relay board: function 05 writes a coil (the
// board echoes the request), function 01 reads coils. Channel ch is coil
// ch-1.
type Modbus struct {
	Address byte
	Timeout time.Duration
}

func (Modbus) Name() string    { return "modbus" }
func (Modbus) MaxChannel() int { return 256 }

// CRC16 is the Modbus CRC (polynomial 0xA001 reflected, initial 0xFFFF);
// it goes on the wire low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

func withCRC(b []byte) []byte {
	c := CRC16(b)
	return append(b, byte(c), byte(c>>8))
}

// ModbusWriteCoil is the function-05 frame that switches coil (0-based).
func ModbusWriteCoil(addr byte, coil int, on bool) []byte {
	v := byte(0x00)
	if on {
		v = 0xFF
	}
	return withCRC([]byte{addr, 0x05, byte(coil >> 8), byte(coil), v, 0x00})
}

// ModbusReadCoils is the function-01 frame that reads n coils from start.
func ModbusReadCoils(addr byte, start, n int) []byte {
	return withCRC([]byte{addr, 0x01, byte(start >> 8), byte(start), byte(n >> 8), byte(n)})
}

func (b Modbus) Set(p serialport.Port, ch int, on bool) error {
	if err := checkChannel(b, ch); err != nil {
		return err
	}
	req := ModbusWriteCoil(b.Address, ch-1, on)
	discardInput(p)
	if err := write(p, req); err != nil {
		return err
	}
	r, err := b.reply(p, 0x05)
	if err != nil {
		return err
	}
	if !bytes.Equal(r, req) {
		return fmt.Errorf("%w: write echo % X, sent % X", ErrBadReply, r, req)
	}
	return nil
}

func (b Modbus) State(p serialport.Port, ch int) (bool, error) {
	if err := checkChannel(b, ch); err != nil {
		return false, err
	}
	discardInput(p)
	if err := write(p, ModbusReadCoils(b.Address, ch-1, 1)); err != nil {
		return false, err
	}
	r, err := b.reply(p, 0x01)
	if err != nil {
		return false, err
	}
	if r[2] != 1 {
		return false, fmt.Errorf("%w: byte count %d", ErrBadReply, r[2])
	}
	return r[3]&1 != 0, nil
}

// reply reads one Modbus reply to function fn: the 8-byte echo for 05, a
// byte-count frame for 01, or a 5-byte exception.
func (b Modbus) reply(p serialport.Port, fn byte) ([]byte, error) {
	head, err := readFull(p, 3, b.Timeout)
	if err != nil {
		return head, err
	}
	if head[0] != b.Address {
		return head, fmt.Errorf("%w: from address %d, want %d", ErrBadReply, head[0], b.Address)
	}
	var rest int
	switch head[1] {
	case fn:
		rest = 5 // 05: the rest of the 8-byte echo
		if fn == 0x01 {
			rest = int(head[2]) + 2
		}
	case fn | 0x80:
		rest = 2
	default:
		return head, fmt.Errorf("%w: function %#02x, want %#02x", ErrBadReply, head[1], fn)
	}
	tail, err := readFull(p, rest, b.Timeout)
	r := append(slices.Clip(head), tail...)
	if err != nil {
		return r, err
	}
	if c := CRC16(r[:len(r)-2]); r[len(r)-2] != byte(c) || r[len(r)-1] != byte(c>>8) {
		return r, fmt.Errorf("%w: crc % X", ErrBadReply, r)
	}
	if head[1] == fn|0x80 {
		return r, fmt.Errorf("%w: modbus exception %d", ErrBadReply, head[2])
	}
	return r, nil
}
