package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// keypad is an on-screen PIN pad: digits shown as dots, Clear, delete and
// OK. Touch screens have no keyboard; large fixed keys suit fingers.
type keypad struct {
	pin     string
	dots    *canvas.Text
	onEnter func(pin string)
	onKey   func()
	box     fyne.CanvasObject
}

func newKeypad(onEnter func(string), onKey func(), cell fyne.Size, t tr) *keypad {
	k := &keypad{onEnter: onEnter, onKey: onKey}
	k.dots = canvas.NewText(" ", colPrimary)
	k.dots.TextSize = 56
	k.dots.Alignment = fyne.TextAlignCenter
	key := func(label string, f func()) *bigButton {
		return newBigButton(label, t.rtl(), 32, widget.MediumImportance, func() {
			if k.onKey != nil {
				k.onKey()
			}
			f()
		})
	}
	var keys []fyne.CanvasObject
	for _, d := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		keys = append(keys, key(d, func() { k.press(d) }))
	}
	clear := key(t.T("admin.login.clear"), func() { k.pin = ""; k.show() })
	ok := key(t.T("admin.login.ok"), func() {
		pin := k.pin
		k.pin = ""
		k.show()
		k.onEnter(pin)
	})
	ok.btn.Importance = widget.HighImportance
	ok.label.Color = labelColour(widget.HighImportance)
	keys = append(keys, clear, key("0", func() { k.press("0") }), ok)
	grid := container.New(&cellGrid{cols: 3, cell: cell, gap: 8}, keys...)
	k.box = container.NewVBox(k.dots, container.NewCenter(grid))
	return k
}

func (k *keypad) press(d string) {
	if len(k.pin) < MaxPINLength {
		k.pin += d
	}
	k.show()
}

func (k *keypad) show() {
	if k.pin == "" {
		k.dots.Text = " "
	} else {
		k.dots.Text = strings.Repeat("● ", len(k.pin))
	}
	k.dots.Refresh()
}

// cellGrid places its children in fixed-size cells, cols per row, from
// the left (from the right when rtl).
type cellGrid struct {
	cols int
	cell fyne.Size
	gap  float32
	rtl  bool
}

func (l *cellGrid) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for i, o := range objs {
		r, c := i/l.cols, i%l.cols
		x := float32(c) * (l.cell.Width + l.gap)
		if l.rtl {
			x = size.Width - x - l.cell.Width
		}
		o.Move(fyne.NewPos(x, float32(r)*(l.cell.Height+l.gap)))
		o.Resize(l.cell)
	}
}

func (l *cellGrid) MinSize(objs []fyne.CanvasObject) fyne.Size {
	rows := (len(objs) + l.cols - 1) / l.cols
	cols := min(l.cols, len(objs))
	return fyne.NewSize(float32(cols)*(l.cell.Width+l.gap)-l.gap, float32(rows)*(l.cell.Height+l.gap)-l.gap)
}
