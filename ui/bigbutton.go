package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// bigButton is a button whose label is large, centred and bidi-ordered:
// widget.Button takes its text size from the theme (one size for the
// whole app) and draws its label at the top of a tall button. It is a
// plain widget.Button with no text, under a BidiText.
type bigButton struct {
	widget.BaseWidget
	Text  string
	btn   *widget.Button
	label *BidiText
	// second is the label in the other language, under the first
	// (primary steps are in both languages); nil for one line.
	second *BidiText
}

func newBigButton(text string, rtl bool, size float32, imp widget.Importance, tapped func()) *bigButton {
	b := &bigButton{Text: text, btn: widget.NewButton("", tapped)}
	b.btn.Importance = imp
	b.label = NewBidiText(text, rtl, size)
	b.label.Align = fyne.TextAlignCenter
	b.label.Bold = true
	b.label.Color = labelColour(imp)
	b.ExtendBaseWidget(b)
	return b
}

func labelColour(imp widget.Importance) color.Color {
	switch imp {
	case widget.HighImportance, widget.WarningImportance:
		return colOnPrimary
	}
	return colForeground
}

// bilingual adds the label in the other language under the first.
func (b *bigButton) bilingual(text string, rtl bool) *bigButton {
	b.second = NewBidiText(text, rtl, b.label.TextSize)
	b.second.Align = fyne.TextAlignCenter
	b.second.Bold = true
	b.second.Color = b.label.Color
	b.label.Wrap, b.second.Wrap = true, true
	return b
}

func (b *bigButton) CreateRenderer() fyne.WidgetRenderer {
	if b.second != nil {
		labels := container.NewVBox(layout.NewSpacer(), b.label, b.second, layout.NewSpacer())
		return widget.NewSimpleRenderer(container.NewStack(b.btn, container.New(layout.NewCustomPaddedLayout(8, 8, 16, 16), labels)))
	}
	return widget.NewSimpleRenderer(container.NewStack(b.btn, b.label))
}

// Tapped forwards a tap on the label to the button.
func (b *bigButton) Tapped(e *fyne.PointEvent) { b.btn.Tapped(e) }

// MinSize: the label with the button's inner padding.
func (b *bigButton) MinSize() fyne.Size {
	m := b.label.MinSize()
	if b.second != nil {
		m2 := b.second.MinSize()
		m = fyne.NewSize(max(m.Width, m2.Width), m.Height+m2.Height)
	}
	return fyne.NewSize(m.Width+32, m.Height+16)
}

// Disable greys the button out: it no longer responds to taps.
func (b *bigButton) Disable() {
	b.btn.Disable()
	b.label.Color = colDisabled
	if b.second != nil {
		b.second.Color = colDisabled
	}
	b.Refresh()
}
