package ui

import (
	"image/color"

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
	lineH   float32
	builtW  float32
	builtAt string
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
	r.lineH = fyne.MeasureText("Ag", t.TextSize, r.style()).Height
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
		for _, run := range visualRuns(l, t.RTL) {
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
	y := float32(0)
	total := float32(len(r.lines)) * r.lineH
	if size.Height > total {
		y = (size.Height - total) / 2
	}
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
			txt.Move(fyne.NewPos(x, y))
			x += txt.Size().Width
		}
		y += r.lineH
	}
}

func (r *bidiRenderer) MinSize() fyne.Size {
	if r.t.Text == "" {
		return fyne.NewSize(0, r.lineH)
	}
	if !r.t.Wrap {
		if r.builtAt != r.t.Text+"\x00"+boolStr(r.t.RTL) {
			r.build(0)
		}
		var w float32
		for _, l := range r.lines {
			w = max(w, l.width)
		}
		return fyne.NewSize(w, r.lineH*float32(len(r.lines)))
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
	return fyne.NewSize(w, r.lineH*float32(n))
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
