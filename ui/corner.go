package ui

import (
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// cornerPress is an invisible square in a screen corner: holding it for
// hold opens the attendant admin. A touch screen on the desktop driver
// delivers presses as mouse button events.
type cornerPress struct {
	widget.BaseWidget
	hold      time.Duration
	afterFunc func(time.Duration, func()) func() bool
	onLong    func()

	mu   sync.Mutex
	stop func() bool
}

func newCornerPress(hold time.Duration, after func(time.Duration, func()) func() bool, onLong func()) *cornerPress {
	c := &cornerPress{hold: hold, afterFunc: after, onLong: onLong}
	c.ExtendBaseWidget(c)
	return c
}

func (c *cornerPress) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

var _ desktop.Mouseable = (*cornerPress)(nil)

// MouseDown starts the hold timer.
func (c *cornerPress) MouseDown(*desktop.MouseEvent) {
	if c.onLong == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
	c.stop = c.afterFunc(c.hold, func() {
		c.mu.Lock()
		held := c.stop != nil
		c.stop = nil
		c.mu.Unlock()
		if held {
			fyne.Do(c.onLong)
		}
	})
}

// MouseUp before the hold time cancels it.
func (c *cornerPress) MouseUp(*desktop.MouseEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
}
