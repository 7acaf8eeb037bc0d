package receipt

import (
	"fmt"
	"image"
	"image/color"
	"unicode"

	"golang.org/x/text/encoding/charmap"
)

// The ESC/POS bytes this package sends. Every common 58 and 80 mm thermal
// printer (Epson TM series and the many compatible ones) understands
// them; the comments give Epson's names.
const (
	esc = 0x1B
	gs  = 0x1D
	dle = 0x10
	eot = 0x04
	lf  = 0x0A
)

// Align is a line's alignment (ESC a n).
type Align byte

const (
	Left   Align = 0
	Center Align = 1
	Right  Align = 2
)

// QRLevel is a QR code's error correction level (GS ( k, function 169).
type QRLevel byte

const (
	QRLevelL QRLevel = '0' // 7%
	QRLevelM QRLevel = '1' // 15%
	QRLevelQ QRLevel = '2' // 25%
	QRLevelH QRLevel = '3' // 30%
)

// StatusQuery is DLE EOT 4, "transmit roll paper sensor status": a
// real-time command, answered even while the printer is offline or out
// of paper, with one status byte (see PaperStatus).
var StatusQuery = []byte{dle, eot, 4}

// PaperStatus is the answer to StatusQuery.
type PaperStatus struct {
	// NearEnd: the roll is nearly used up (bits 2 and 3).
	NearEnd bool
	// End: no paper (bits 5 and 6); the printer prints nothing.
	End bool
}

// ParsePaperStatus reads the status byte. Bits 1 and 4 are always set
// and bits 0 and 7 always clear; any other byte is not a paper status
// (ok false).
func ParsePaperStatus(b byte) (st PaperStatus, ok bool) {
	if b&0x93 != 0x12 {
		return PaperStatus{}, false
	}
	return PaperStatus{NearEnd: b&0x0C != 0, End: b&0x60 != 0}, true
}

// Doc builds a stream of ESC/POS commands. Text is written in code page
// PC437 (ESC t 0, every printer's default and the one every model has),
// so a Doc starts with Init, which selects it.
type Doc struct {
	b []byte
}

// Bytes returns the commands written so far.
func (d *Doc) Bytes() []byte { return d.b }

// Init resets the printer (ESC @: styles, alignment and line spacing to
// their defaults, print buffer cleared) and selects code page PC437
// (ESC t 0).
func (d *Doc) Init() *Doc {
	d.b = append(d.b, esc, '@', esc, 't', 0)
	return d
}

// Bold switches emphasis on or off (ESC E n).
func (d *Doc) Bold(on bool) *Doc {
	d.b = append(d.b, esc, 'E', b2u(on))
	return d
}

// Size sets the character size as multiples of the normal size, 1 to 8
// each (GS ! n). Size(2, 2) is double width and height.
func (d *Doc) Size(w, h int) *Doc {
	w, h = min(max(w, 1), 8), min(max(h, 1), 8)
	d.b = append(d.b, gs, '!', byte((w-1)<<4|(h-1)))
	return d
}

// Align sets the alignment of the following lines (ESC a n). Printers
// apply it at the start of a line only.
func (d *Doc) Align(a Align) *Doc {
	d.b = append(d.b, esc, 'a', byte(a))
	return d
}

// Text writes s in code page PC437. Characters PC437 lacks (Arabic
// among them) print as '?', and control characters are dropped: text
// from a config file or an order number must never be able to send a
// command.
func (d *Doc) Text(s string) *Doc {
	d.b = appendText(d.b, s)
	return d
}

// Line writes s and a line feed (LF: print the line, move to the next).
func (d *Doc) Line(s string) *Doc {
	d.b = append(appendText(d.b, s), lf)
	return d
}

// Feed prints the buffer and feeds n more lines (ESC d n).
func (d *Doc) Feed(n int) *Doc {
	d.b = append(d.b, esc, 'd', byte(min(max(n, 0), 255)))
	return d
}

// Cut feeds the paper to the cutter and cuts it, leaving one point
// uncut (GS V 66 0: "feed and partial cut"). Printers without a cutter
// feed and ignore the cut.
func (d *Doc) Cut() *Doc {
	d.b = append(d.b, gs, 'V', 66, 0)
	return d
}

// QR prints data as a QR code, model 2, with modules of size dots (1 to
// 16) and error correction level, centred by the current alignment. It
// is the sequence of GS ( k functions 165 (model), 167 (module size), 169
// (error correction), 180 (store the data) and 181 (print it).
func (d *Doc) QR(data string, size int, level QRLevel) *Doc {
	size = min(max(size, 1), 16)
	d.b = append(d.b,
		gs, '(', 'k', 4, 0, '1', 'A', '2', 0, // fn 165: model 2
		gs, '(', 'k', 3, 0, '1', 'C', byte(size), // fn 167: module size
		gs, '(', 'k', 3, 0, '1', 'E', byte(level), // fn 169: error correction
	)
	n := len(data) + 3
	d.b = append(d.b, gs, '(', 'k', byte(n), byte(n>>8), '1', 'P', '0') // fn 180: store
	d.b = append(d.b, data...)
	d.b = append(d.b, gs, '(', 'k', 3, 0, '1', 'Q', '0') // fn 181: print
	return d
}

// Raster prints img as a raster bit image at normal density (GS v 0 0):
// a pixel darker than mid-grey is a printed dot. Images wider than 65535
// dots or taller than 2303 rows (the printers' limit per command) are
// refused.
func (d *Doc) Raster(img image.Image) error {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w > 0xFFFF || h > 2303 {
		return fmt.Errorf("receipt: raster image %dx%d out of range", w, h)
	}
	row := (w + 7) / 8
	d.b = append(d.b, gs, 'v', '0', 0, byte(row), byte(row>>8), byte(h), byte(h>>8))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		line := make([]byte, row)
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 {
				i := x - b.Min.X
				line[i/8] |= 0x80 >> (i % 8)
			}
		}
		d.b = append(d.b, line...)
	}
	return nil
}

func b2u(on bool) byte {
	if on {
		return 1
	}
	return 0
}

// appendText appends s in PC437, dropping control characters and writing
// '?' for characters the code page lacks.
func appendText(b []byte, s string) []byte {
	for _, r := range s {
		// Invisible formatting marks (LRM, ZWJ) would print as '?'.
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Join_Control, r) {
			continue
		}
		c, ok := charmap.CodePage437.EncodeRune(r)
		if !ok || c < 0x20 || c == 0x7F {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}
