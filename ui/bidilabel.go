package ui

import (
	"image/color"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// BidiText is a text widget that shows mixed Arabic / number / Latin lines
// in the right order (see visualRuns): it wraps the logical text into
// lines, orders each line's runs visually and draws each run as one
// canvas.Text. Align is absolute: fyne.TextAlignTrailing is the right edge
// (the start of an Arabic line).
type BidiText struct {
	widget.BaseWidget

	Text     string
	RTL      bool
	TextSize float32
	Bold     bool
	Color    color.Color
	Align    fyne.TextAlign
	// Wrap breaks the text at spaces to fit the width it is given.
	Wrap bool
}

// NewBidiText returns a BidiText of the given size, aligned to the start
// side of its direction (right for RTL).
func NewBidiText(text string, rtl bool, size float32) *BidiText {
	t := &BidiText{Text: text, RTL: rtl, TextSize: size, Color: colForeground, Align: fyne.TextAlignLeading}
	if rtl {
		t.Align = fyne.TextAlignTrailing
	}
	t.ExtendBaseWidget(t)
	return t
}

// SetText changes the text and redraws.
func (t *BidiText) SetText(s string) {
	if t.Text == s {
		return
	}
	t.Text = s
	t.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (t *BidiText) CreateRenderer() fyne.WidgetRenderer {
	r := &bidiRenderer{t: t}
	r.build(0)
	return r
}

type bidiLine struct {
	texts []*canvas.Text
	width float32
}

type bidiRenderer struct {
	t       *BidiText
	lines   []bidiLine
	objects []fyne.CanvasObject
	builtW  float32
	builtAt string
}

// Line metrics of BidiText, in ems. Fyne gives every canvas.Text the
// height of the Arabic font's line box (2.1 em: room for stacked marks),
// so lines stacked by that height read as double-spaced. BidiText places
// baselines itself: lineStep apart (1.3 em, the usual leading), with
// lineAbove of room above the first baseline (Latin capitals are 0.7 em,
// Arabic letters with marks about 0.9 em) and lineBelow under the last
// (Arabic descenders reach about 0.4 em).
const (
	lineAbove = 1.0
	lineBelow = 0.45
	lineStep  = 1.3
)

// drawAscent is where Fyne draws the baseline of a canvas.Text, from its
// top: the ascent of the font of its first run. Every run of a BidiText
// starts with a direction mark, which the Arabic font holds, so all runs
// (Latin or Arabic) share this ascent and one baseline. A plain
// canvas.Text starting with a Latin letter is drawn 0.3 em higher than
// one starting with a digit or an Arabic letter (see markText).
func drawAscent(size float32, style fyne.TextStyle) float32 {
	app := fyne.CurrentApp()
	if app == nil {
		return size * lineAbove
	}
	_, base := app.Driver().RenderedTextSize(lrm, size, style, nil)
	return base
}

// blockHeight is the height of n lines of text of size.
func blockHeight(n int, size float32) float32 {
	if n < 1 {
		n = 1
	}
	return size * (lineAbove + lineBelow + lineStep*float32(n-1))
}

func (r *bidiRenderer) style() fyne.TextStyle { return fyne.TextStyle{Bold: r.t.Bold} }

func (r *bidiRenderer) measure(s string) float32 {
	return fyne.MeasureText(s, r.t.TextSize, r.style()).Width
}

// build lays the text out for width w (0: one line per text).
func (r *bidiRenderer) build(w float32) {
	t := r.t
	r.builtW, r.builtAt = w, t.Text+"\x00"+boolStr(t.RTL)
	r.lines = r.lines[:0]
	r.objects = r.objects[:0]
	if t.Text == "" {
		return
	}
	var logical []string
	if t.Wrap {
		logical = wrapWords(t.Text, w, r.measure)
	} else {
		logical = []string{t.Text}
	}
	col := t.Color
	if col == nil {
		col = colForeground
	}
	for _, l := range logical {
		var line bidiLine
		for _, run := range drawRuns(visualRuns(l, t.RTL)) {
			txt := canvas.NewText(runText(run), col)
			txt.TextSize = t.TextSize
			txt.TextStyle = r.style()
			sz := txt.MinSize()
			txt.Resize(sz)
			line.width += sz.Width
			line.texts = append(line.texts, txt)
			r.objects = append(r.objects, txt)
		}
		r.lines = append(r.lines, line)
	}
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (r *bidiRenderer) Layout(size fyne.Size) {
	if r.builtAt != r.t.Text+"\x00"+boolStr(r.t.RTL) || (r.t.Wrap && r.builtW != size.Width) {
		r.build(size.Width)
	}
	size0 := r.t.TextSize
	y := float32(0)
	total := blockHeight(len(r.lines), size0)
	if size.Height > total {
		y = (size.Height - total) / 2
	}
	// y is the top of the current line's box; its text object goes so that
	// Fyne's baseline lands lineAbove below it.
	shift := size0*lineAbove - drawAscent(size0, r.style())
	for _, l := range r.lines {
		var x float32
		switch r.t.Align {
		case fyne.TextAlignCenter:
			x = (size.Width - l.width) / 2
		case fyne.TextAlignTrailing:
			x = size.Width - l.width
		}
		if x < 0 {
			x = 0
		}
		for _, txt := range l.texts {
			txt.Move(fyne.NewPos(x, y+shift))
			x += txt.Size().Width
		}
		y += size0 * lineStep
	}
}

func (r *bidiRenderer) MinSize() fyne.Size {
	if r.t.Text == "" {
		return fyne.NewSize(0, blockHeight(1, r.t.TextSize))
	}
	if !r.t.Wrap {
		if r.builtAt != r.t.Text+"\x00"+boolStr(r.t.RTL) {
			r.build(0)
		}
		var w float32
		for _, l := range r.lines {
			w = max(w, l.width)
		}
		return fyne.NewSize(w, blockHeight(len(r.lines), r.t.TextSize))
	}
	// Wrapping: as wide as the widest word, as high as the lines at the
	// current width.
	var w float32
	for _, word := range wrapWords(r.t.Text, 1, r.measure) {
		w = max(w, r.measure(word))
	}
	n := len(r.lines)
	if n == 0 {
		n = 1
	}
	return fyne.NewSize(w, blockHeight(n, r.t.TextSize))
}

func (r *bidiRenderer) Refresh() {
	r.build(r.t.Size().Width)
	r.Layout(r.t.Size())
	canvas.Refresh(r.t)
}

func (r *bidiRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *bidiRenderer) Destroy()                     {}

// Resize implements fyne.CanvasObject. A wrapping text re-wraps at its new
// width; the refresh lets the canvas notice a change in height.
func (t *BidiText) Resize(s fyne.Size) {
	old := t.Size()
	t.BaseWidget.Resize(s)
	if t.Wrap && old.Width != s.Width {
		t.Refresh()
	}
}

// drawRuns splits each RTL run at its punctuation, and off its edge
// spaces, drawing those pieces as LTR runs of their own in visual order
// (reversed, brackets mirrored): Fyne orders the pieces of one
// canvas.Text left to right in logical order, so "المبلغ المستحق · " showed
// its dot on the far right, and "الزيارات / المخارج" its two words swapped.
// Letters (with the spaces between words) stay together, so Arabic keeps
// its joining.
func drawRuns(runs []bidiRun) []bidiRun {
	out := make([]bidiRun, 0, len(runs))
	for _, r := range runs {
		if !r.RTL {
			out = append(out, r)
			continue
		}
		chunks := rtlChunks([]rune(r.Text))
		for i := len(chunks) - 1; i >= 0; i-- { // RTL: the last chunk is leftmost
			c := chunks[i]
			if c.neutral {
				out = append(out, bidiRun{Text: visualString([]bidiRun{{Text: c.text, RTL: true}})})
			} else {
				out = append(out, bidiRun{Text: c.text, RTL: true})
			}
		}
	}
	return out
}

type rtlChunk struct {
	text    string
	neutral bool
}

// rtlChunks cuts an RTL run into letter chunks and neutral chunks: a
// neutral chunk is a stretch of punctuation, symbols and spaces that holds
// punctuation or a symbol, or that starts or ends the run.
func rtlChunks(rs []rune) []rtlChunk {
	var out []rtlChunk
	add := func(s []rune, neutral bool) {
		if len(s) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].neutral == neutral {
			out[n-1].text += string(s)
			return
		}
		out = append(out, rtlChunk{string(s), neutral})
	}
	start := 0
	for i := 0; i <= len(rs); {
		if i == len(rs) || !isNeutral(rs[i]) {
			i++
			continue
		}
		j := i
		punct := false
		for j < len(rs) && isNeutral(rs[j]) {
			punct = punct || !unicode.IsSpace(rs[j])
			j++
		}
		if punct || i == 0 || j == len(rs) {
			add(rs[start:i], false)
			add(rs[i:j], true)
			start = j
		}
		i = j
	}
	add(rs[start:], false)
	return out
}

func isNeutral(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}
