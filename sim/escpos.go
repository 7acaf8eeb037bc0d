package sim

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/encoding/charmap"
)

// The ESC/POS interpreter of the receipt-printer emulator. It is written
// from the command reference, not from package receipt's encoder, so the
// emulator checks the encoder rather than agreeing with it.
//
// The paper is modelled as an Epson-style 203 dpi printer: font A cells
// of 12×24 dots, 32 columns (384 dots) on 58 mm paper or 48 (576 dots)
// on 80 mm; a line is as tall as its tallest character, and at least the
// default line spacing of 30 dots.

// Printout is what came out of the printer between two cuts.
type Printout struct {
	// Bytes are the commands that made it (real-time queries left out).
	Bytes []byte
	// Text is the printout as text: one framed line per printed line,
	// each character in its column (a double-width character takes two
	// columns: itself and a space), followed by the styles used on the
	// line ("bold", "wide", "tall"); pictures are described in brackets:
	// "[QR M 6: data]", "[image 200x40]".
	Text string
	// Image is the paper as printed, one pixel per dot, black on white.
	Image *image.Gray
	// Cut: the printout ended with a cut (false: the rest of the stream).
	Cut bool
	// Notes lists what the interpreter did not understand.
	Notes []string
}

// PNG encodes the printout's image.
func (p Printout) PNG() ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, p.Image); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Render interprets ESC/POS bytes as a printer with paper width mm (58 or
// 80; 0 means 80) prints them, and returns the printouts, one per cut,
// plus any printed data left after the last cut.
func Render(b []byte, width int) []Printout {
	e := newInterp(width)
	for len(b) > 0 {
		n, _ := e.step(b)
		if n == 0 {
			e.note(fmt.Sprintf("incomplete command at the end: % X", b[:min(len(b), 16)]))
			break
		}
		b = b[n:]
	}
	out := e.done
	if last, ok := e.flushPrintout(false); ok {
		out = append(out, last)
	}
	return out
}

// cell is one printed character.
type cell struct {
	r          rune
	bold       bool
	wide, tall int // size multipliers, 1-8
}

// block is one printed line or picture.
type block struct {
	cells []cell
	align byte
	pic   *image.Gray // a QR code or raster image
	desc  string      // the picture in words
	feed  int         // extra dots fed after
	empty bool        // a line feed on an empty line
}

// interp is the printer's state while reading a stream.
type interp struct {
	cols, dots int

	// Print state (ESC @ resets it).
	bold       bool
	wide, tall int
	align      byte
	spacing    int // line spacing in dots
	codePage   byte
	qrModel    byte
	qrSize     int
	qrLevel    byte
	qrData     []byte

	line   []cell
	lineAl byte // alignment of the line being built (taken at its start)
	blocks []block
	raw    []byte
	notes  []string
	done   []Printout

	// discard: print nothing (out of paper); the commands are still
	// interpreted so that the stream stays in step.
	discard bool
	dropped int
}

func newInterp(width int) *interp {
	e := &interp{cols: 48}
	if width == 58 {
		e.cols = 32
	}
	e.dots = e.cols * 12
	e.reset()
	return e
}

func (e *interp) reset() {
	e.bold, e.wide, e.tall, e.align, e.spacing, e.codePage = false, 1, 1, 0, 30, 0
	e.qrModel, e.qrSize, e.qrLevel, e.qrData = '2', 3, '0', nil
}

func (e *interp) note(s string) {
	if len(e.notes) < 50 {
		e.notes = append(e.notes, s)
	}
}

// need reports whether b holds n bytes.
func need(b []byte, n int) bool { return len(b) >= n }

// step interprets one command or character from the front of b. It
// returns the bytes used (0: the command is incomplete) and, for a
// real-time status request, the number n of DLE EOT n (else 0).
func (e *interp) step(b []byte) (used int, query byte) {
	c := b[0]
	switch c {
	case 0x10: // DLE
		if !need(b, 2) {
			return 0, 0
		}
		switch b[1] {
		case 0x04: // DLE EOT n: transmit real-time status
			if !need(b, 3) {
				return 0, 0
			}
			return 3, b[2]
		case 0x05: // DLE ENQ n: real-time request
			if !need(b, 3) {
				return 0, 0
			}
			return 3, 0
		case 0x14: // DLE DC4 fn a b
			if !need(b, 5) {
				return 0, 0
			}
			return 5, 0
		}
		return e.print(b[:1], func() { e.note("stray DLE") })
	case 0x1B:
		return e.esc(b)
	case 0x1D:
		return e.gs(b)
	case 0x0A: // LF
		return e.print(b[:1], func() { e.newline() })
	case 0x0D: // CR: ignored (printers default to LF-only line ends)
		return e.print(b[:1], nil)
	case 0x09: // HT: next tab stop (every 8 columns)
		return e.print(b[:1], func() {
			for w := e.lineWidth(); w == e.lineWidth() || w%8 != 0; w++ {
				e.add(' ')
			}
		})
	}
	if c < 0x20 || c == 0x7F {
		return e.print(b[:1], func() { e.note(fmt.Sprintf("control byte %#02x", c)) })
	}
	return e.print(b[:1], func() {
		r := charmap.CodePage437.DecodeByte(c)
		if e.codePage != 0 {
			r = '?'
		}
		e.add(r)
	})
}

// print keeps the command's bytes and applies it, unless out of paper.
func (e *interp) print(cmd []byte, apply func()) (int, byte) {
	if e.discard {
		e.dropped += len(cmd)
		return len(cmd), 0
	}
	e.raw = append(e.raw, cmd...)
	if apply != nil {
		apply()
	}
	return len(cmd), 0
}

func (e *interp) esc(b []byte) (int, byte) {
	if !need(b, 2) {
		return 0, 0
	}
	arg := func(apply func(n byte)) (int, byte) {
		if !need(b, 3) {
			return 0, 0
		}
		return e.print(b[:3], func() { apply(b[2]) })
	}
	switch b[1] {
	case '@': // initialise
		return e.print(b[:2], func() {
			if len(e.line) > 0 {
				e.note("ESC @ with a line not yet printed: discarded")
				e.line = nil
			}
			e.reset()
		})
	case 'E', 'G': // emphasis, double strike (printed the same)
		return arg(func(n byte) { e.bold = n&1 == 1 })
	case '!': // print mode: emphasis bit 3, double height 4, double width 5
		return arg(func(n byte) {
			e.bold = n&0x08 != 0
			e.tall, e.wide = 1, 1
			if n&0x10 != 0 {
				e.tall = 2
			}
			if n&0x20 != 0 {
				e.wide = 2
			}
		})
	case 'a': // justification
		return arg(func(n byte) {
			switch n {
			case 0, '0':
				e.align = 0
			case 1, '1':
				e.align = 1
			case 2, '2':
				e.align = 2
			default:
				e.note(fmt.Sprintf("ESC a %d", n))
			}
			if len(e.line) == 0 {
				e.lineAl = e.align
			}
		})
	case 'd': // print and feed n lines
		return arg(func(n byte) {
			if len(e.line) > 0 {
				e.newline()
			}
			for range int(n) {
				e.newline()
			}
		})
	case 'J': // print and feed n dots
		return arg(func(n byte) {
			if len(e.line) > 0 {
				e.newline()
			}
			e.blocks = append(e.blocks, block{feed: int(n)})
		})
	case 't': // code page
		return arg(func(n byte) {
			e.codePage = n
			if n != 0 {
				e.note(fmt.Sprintf("code page %d: only PC437 (0) is emulated", n))
			}
		})
	case '2': // default line spacing
		return e.print(b[:2], func() { e.spacing = 30 })
	case '3': // line spacing n dots
		return arg(func(n byte) { e.spacing = int(n) })
	case '-', 'M', 'R', 'V', '{', ' ', 'c', 'r', 'U': // styles not emulated
		return arg(func(n byte) {
			if b[1] != 'M' || n != 0 {
				e.note(fmt.Sprintf("ESC %c %d not emulated", b[1], n))
			}
		})
	case '$': // absolute position nL nH
		if !need(b, 4) {
			return 0, 0
		}
		return e.print(b[:4], func() { e.note("ESC $ not emulated") })
	}
	return e.print(b[:2], func() { e.note(fmt.Sprintf("unknown ESC %#02x", b[1])) })
}

func (e *interp) gs(b []byte) (int, byte) {
	if !need(b, 2) {
		return 0, 0
	}
	switch b[1] {
	case '!': // character size
		if !need(b, 3) {
			return 0, 0
		}
		return e.print(b[:3], func() {
			e.wide, e.tall = int(b[2]>>4)+1, int(b[2]&7)+1
			if b[2]&0x88 != 0 {
				e.note(fmt.Sprintf("GS ! %#02x out of range", b[2]))
				e.wide, e.tall = min(e.wide, 8), min(e.tall, 8)
			}
		})
	case 'V': // cut
		if !need(b, 3) {
			return 0, 0
		}
		n := 3
		if m := b[2]; m == 65 || m == 66 || m == 97 || m == 98 || m == 103 || m == 104 {
			if !need(b, 4) {
				return 0, 0
			}
			n = 4
		}
		return e.print(b[:n], func() {
			if len(e.line) > 0 {
				e.newline()
			}
			if p, ok := e.flushPrintout(true); ok {
				e.done = append(e.done, p)
			}
		})
	case '(':
		if !need(b, 5) {
			return 0, 0
		}
		n := int(b[3]) | int(b[4])<<8
		if !need(b, 5+n) {
			return 0, 0
		}
		cmd := b[:5+n]
		if b[2] != 'k' {
			return e.print(cmd, func() { e.note(fmt.Sprintf("GS ( %c not emulated", b[2])) })
		}
		return e.print(cmd, func() { e.symbol(cmd[5:]) })
	case 'v': // GS v 0 m xL xH yL yH d...: raster bit image
		if !need(b, 8) {
			return 0, 0
		}
		if b[2] != '0' {
			return e.print(b[:3], func() { e.note("GS v without 0") })
		}
		x := int(b[4]) | int(b[5])<<8
		y := int(b[6]) | int(b[7])<<8
		if x < 1 || x > 255 || y < 1 || y > 2303 {
			// Out of the printers' range: a real one would swallow the
			// data; with no way to tell its length, skip the header.
			return e.print(b[:8], func() { e.note(fmt.Sprintf("GS v 0 of %d bytes by %d rows: out of range", x, y)) })
		}
		if !need(b, 8+x*y) {
			return 0, 0
		}
		return e.print(b[:8+x*y], func() { e.raster(b[3], x, y, b[8:8+x*y]) })
	case 'B', 'H', 'h', 'w', 'f', 'b', 'a', 'r', 'I':
		if !need(b, 3) {
			return 0, 0
		}
		return e.print(b[:3], func() { e.note(fmt.Sprintf("GS %c %d not emulated", b[1], b[2])) })
	case 'L', 'W':
		if !need(b, 4) {
			return 0, 0
		}
		return e.print(b[:4], func() { e.note(fmt.Sprintf("GS %c not emulated", b[1])) })
	}
	return e.print(b[:2], func() { e.note(fmt.Sprintf("unknown GS %#02x", b[1])) })
}

// symbol runs a GS ( k function; p is cn fn and the parameters.
func (e *interp) symbol(p []byte) {
	if len(p) < 2 {
		e.note("GS ( k without a function")
		return
	}
	if p[0] != '1' {
		e.note(fmt.Sprintf("GS ( k symbol %d not emulated (only QR, 49)", p[0]))
		return
	}
	arg := byte(0)
	if len(p) > 2 {
		arg = p[2]
	}
	switch p[1] {
	case 'A': // 165: model
		e.qrModel = arg
	case 'C': // 167: module size
		e.qrSize = int(arg)
		if arg < 1 || arg > 16 {
			e.note(fmt.Sprintf("QR module size %d", arg))
		}
	case 'E': // 169: error correction
		e.qrLevel = arg
	case 'P': // 180: store data (after m = '0')
		if len(p) < 3 || p[2] != '0' {
			e.note("QR store without m=48")
		}
		e.qrData = append([]byte(nil), p[min(3, len(p)):]...)
	case 'Q': // 181: print
		e.printQR()
	default:
		e.note(fmt.Sprintf("QR function %c not emulated", p[1]))
	}
}

func (e *interp) printQR() {
	if len(e.line) > 0 {
		e.newline()
	}
	if len(e.qrData) == 0 {
		e.note("QR printed with no data stored")
		return
	}
	if e.qrModel != '2' {
		e.note(fmt.Sprintf("QR model %c: only model 2 emulated", e.qrModel))
	}
	level, name := qrcode.Low, "L"
	switch e.qrLevel {
	case '0':
	case '1':
		level, name = qrcode.Medium, "M"
	case '2':
		level, name = qrcode.High, "Q"
	case '3':
		level, name = qrcode.Highest, "H"
	default:
		e.note(fmt.Sprintf("QR error correction %d (48-51)", e.qrLevel))
	}
	q, err := qrcode.New(string(e.qrData), level)
	if err != nil {
		e.note(fmt.Sprintf("QR: %v", err))
		return
	}
	// The symbol with its quiet zone, which on a real printer is the
	// white paper around it.
	bm := q.Bitmap()
	s := max(e.qrSize, 1)
	img := image.NewGray(image.Rect(0, 0, len(bm)*s, len(bm)*s))
	for y, row := range bm {
		for x, on := range row {
			v := uint8(0xFF)
			if on {
				v = 0
			}
			draw.Draw(img, image.Rect(x*s, y*s, (x+1)*s, (y+1)*s), image.NewUniform(color.Gray{v}), image.Point{}, draw.Src)
		}
	}
	e.blocks = append(e.blocks, block{pic: img, align: e.align, desc: fmt.Sprintf("[QR %s %d: %s]", name, s, e.qrData)})
}

// raster draws a GS v 0 image, x bytes by y rows, scaled by mode m.
func (e *interp) raster(m byte, x, y int, data []byte) {
	if len(e.line) > 0 {
		e.newline()
	}
	sx, sy := 1, 1
	switch m {
	case 1, '1':
		sx = 2
	case 2, '2':
		sy = 2
	case 3, '3':
		sx, sy = 2, 2
	}
	img := image.NewGray(image.Rect(0, 0, x*8*sx, y*sy))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for r := range y {
		for c := range x * 8 {
			if data[r*x+c/8]&(0x80>>(c%8)) != 0 {
				draw.Draw(img, image.Rect(c*sx, r*sy, (c+1)*sx, (r+1)*sy), image.Black, image.Point{}, draw.Src)
			}
		}
	}
	if img.Bounds().Dx() > e.dots {
		e.note(fmt.Sprintf("raster image %d dots wide on %d-dot paper: cut off", img.Bounds().Dx(), e.dots))
	}
	e.blocks = append(e.blocks, block{pic: img, align: e.align, desc: fmt.Sprintf("[image %dx%d]", img.Bounds().Dx(), img.Bounds().Dy())})
}

func (e *interp) lineWidth() int {
	w := 0
	for _, c := range e.line {
		w += c.wide
	}
	return w
}

// add puts a character on the line, wrapping to the next when it does
// not fit (as printers do).
func (e *interp) add(r rune) {
	if len(e.line) == 0 {
		e.lineAl = e.align
	}
	if e.lineWidth()+e.wide > e.cols {
		e.newline()
		e.lineAl = e.align
	}
	e.line = append(e.line, cell{r: r, bold: e.bold, wide: e.wide, tall: e.tall})
}

// newline prints the line being built (LF).
func (e *interp) newline() {
	if len(e.line) == 0 {
		e.blocks = append(e.blocks, block{empty: true, cells: []cell{{tall: e.tall}}})
		return
	}
	e.blocks = append(e.blocks, block{cells: e.line, align: e.lineAl})
	e.line = nil
	e.lineAl = e.align
}

// flushPrintout ends the current printout; ok is false when nothing was
// printed.
func (e *interp) flushPrintout(cut bool) (Printout, bool) {
	if len(e.line) > 0 {
		e.newline()
	}
	if len(e.blocks) == 0 && len(e.raw) == 0 {
		return Printout{}, false
	}
	p := Printout{Bytes: e.raw, Cut: cut, Notes: e.notes}
	p.Text = e.text(cut)
	p.Image = e.image()
	e.blocks, e.raw, e.notes = nil, nil, nil
	return p, true
}

// text renders the blocks as framed text.
func (e *interp) text(cut bool) string {
	var b strings.Builder
	frame := "+" + strings.Repeat("-", e.cols) + "+\n"
	b.WriteString(frame)
	for _, bl := range e.blocks {
		switch {
		case bl.pic != nil:
			// The description sits under the middle of the picture's ink
			// (a picture may carry its own white margin).
			w := len([]rune(bl.desc))
			ink := inkBox(bl.pic)
			mid := e.offset(bl.pic.Bounds().Dx(), bl.align) + (ink.Min.X+ink.Max.X)/2
			left := min(max((mid-w*6+6)/12, 0), max(e.cols-w, 0))
			b.WriteString("|" + e.place(strings.Repeat(" ", left)+bl.desc, left+w, 0) + "|\n")
		case bl.empty:
			b.WriteString("|" + strings.Repeat(" ", e.cols) + "|\n")
		case bl.feed > 0:
			fmt.Fprintf(&b, "|%s| feed %d dots\n", strings.Repeat(" ", e.cols), bl.feed)
		default:
			var s strings.Builder
			w := 0
			bold, wide, tall := false, false, false
			for _, c := range bl.cells {
				s.WriteRune(c.r)
				s.WriteString(strings.Repeat(" ", c.wide-1))
				w += c.wide
				bold = bold || c.bold
				wide = wide || c.wide > 1
				tall = tall || c.tall > 1
			}
			b.WriteString("|" + e.place(s.String(), w, bl.align) + "|")
			for _, f := range []struct {
				on   bool
				name string
			}{{bold, "bold"}, {wide, "wide"}, {tall, "tall"}} {
				if f.on {
					b.WriteString(" " + f.name)
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(frame)
	if cut {
		b.WriteString("(cut)\n")
	}
	return b.String()
}

// place pads s, w columns wide, to the line's width by alignment; text
// wider than the line is shown whole.
func (e *interp) place(s string, w int, align byte) string {
	if w >= e.cols {
		return s
	}
	left := 0
	switch align {
	case 1:
		left = (e.cols - w) / 2
	case 2:
		left = e.cols - w
	}
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", e.cols-w-left)
}

// offset is where a picture or line w dots wide starts, by alignment.
func (e *interp) offset(w int, align byte) int {
	switch align {
	case 1:
		return max((e.dots-w)/2, 0)
	case 2:
		return max(e.dots-w, 0)
	}
	return 0
}

// inkBox is the smallest rectangle holding img's dark dots (the whole
// image when it has none).
func inkBox(img *image.Gray) image.Rectangle {
	ink := image.Rectangle{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.Pix[(y-b.Min.Y)*img.Stride+x-b.Min.X] < 128 {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	if ink.Empty() {
		return b
	}
	return ink
}

// image renders the blocks as dots.
func (e *interp) image() *image.Gray {
	type placed struct {
		img  image.Image
		x, y int
	}
	var parts []placed
	y := 8 // a little paper above the first line
	offset := e.offset
	for _, bl := range e.blocks {
		switch {
		case bl.pic != nil:
			parts = append(parts, placed{bl.pic, offset(bl.pic.Bounds().Dx(), bl.align), y})
			y += bl.pic.Bounds().Dy()
		case bl.feed > 0:
			y += bl.feed
		case bl.empty:
			y += max(e.spacing, 24*bl.cells[0].tall)
		default:
			h, w := 24, 0
			for _, c := range bl.cells {
				h = max(h, 24*c.tall)
				w += 12 * c.wide
			}
			x := offset(w, bl.align)
			for _, c := range bl.cells {
				g := glyph(c)
				// Characters of one line share the baseline.
				parts = append(parts, placed{g, x, y + h - g.Bounds().Dy()})
				x += g.Bounds().Dx()
			}
			y += max(e.spacing, h)
		}
	}
	y += 8
	img := image.NewGray(image.Rect(0, 0, e.dots, y))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for _, p := range parts {
		r := p.img.Bounds()
		draw.Draw(img, image.Rect(p.x, p.y, p.x+r.Dx(), p.y+r.Dy()), p.img, r.Min, draw.Src)
	}
	return img
}

var (
	fontOnce           sync.Once
	monoFace, monoBold font.Face
	glyphMu            sync.Mutex
	glyphCache         = map[cell]*image.Gray{}
)

// glyph is the dots of one character in its cell (12×24 scaled by its
// size), drawn from Go Mono and thresholded like a thermal head.
func glyph(c cell) *image.Gray {
	fontOnce.Do(func() {
		opts := &opentype.FaceOptions{Size: 20, DPI: 72, Hinting: font.HintingFull}
		for _, f := range []struct {
			ttf  []byte
			face *font.Face
		}{{gomono.TTF, &monoFace}, {gomonobold.TTF, &monoBold}} {
			parsed, err := opentype.Parse(f.ttf)
			if err != nil {
				panic(err) // embedded font
			}
			*f.face, err = opentype.NewFace(parsed, opts)
			if err != nil {
				panic(err)
			}
		}
	})
	glyphMu.Lock()
	defer glyphMu.Unlock()
	if g, ok := glyphCache[c]; ok {
		return g
	}
	base := image.NewGray(image.Rect(0, 0, 12, 24))
	for i := range base.Pix {
		base.Pix[i] = 0xFF
	}
	face := monoFace
	if c.bold {
		face = monoBold
	}
	d := &font.Drawer{Dst: base, Src: image.Black, Face: face, Dot: fixed.P(0, 19)}
	d.DrawString(string(c.r))
	g := image.NewGray(image.Rect(0, 0, 12*c.wide, 24*c.tall))
	for y := range g.Bounds().Dy() {
		for x := range g.Bounds().Dx() {
			v := base.GrayAt(x/c.wide, y/c.tall).Y
			if v < 128 {
				g.Pix[y*g.Stride+x] = 0
			} else {
				g.Pix[y*g.Stride+x] = 0xFF
			}
		}
	}
	glyphCache[c] = g
	return g
}
