package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
)

// SimWindow is the one window of "exitlane sim": the kiosk on the left,
// taking the width the panel leaves, and the simulation panel beside it
// on the right. One window rather than two: without a window manager a
// second window opens at the same place as the first and hides it.
type SimWindow struct {
	kiosk *fyne.Container // holds the chosen lane's kiosk
	panel *SimPanel
	root  fyne.CanvasObject
}

// NewSimWindow lays out kiosk (the chosen lane's ui.Station content) and
// panel side by side.
func NewSimWindow(kiosk fyne.CanvasObject, panel *SimPanel) *SimWindow {
	w := &SimWindow{kiosk: container.NewStack(kiosk), panel: panel}
	w.root = container.New(sideBySide{}, w.kiosk, panel.Content())
	return w
}

// sideBySide lays out two objects: the second at its minimum width on
// the right, the first in the rest, both the full height, with no
// padding between (the kiosk's edge is the panel's).
type sideBySide struct{}

func (sideBySide) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pw := objs[1].MinSize().Width
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(size.Width-pw, size.Height))
	objs[1].Move(fyne.NewPos(size.Width-pw, 0))
	objs[1].Resize(fyne.NewSize(pw, size.Height))
}

func (sideBySide) MinSize(objs []fyne.CanvasObject) fyne.Size {
	k, p := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(k.Width+p.Width, max(k.Height, p.Height))
}

// Content is the window's content.
func (w *SimWindow) Content() fyne.CanvasObject { return w.root }

// ShowKiosk puts another lane's kiosk in the kiosk's place. Fyne
// goroutine.
func (w *SimWindow) ShowKiosk(kiosk fyne.CanvasObject) {
	w.kiosk.Objects = []fyne.CanvasObject{kiosk}
	w.kiosk.Refresh()
}

// simStatusHeight is the height the panel's status (site, state, relay,
// ledger) gets at least in a window of Size: it scrolls, so its minimum
// is a few pixels, and a window of the controls' height would hide it.
const simStatusHeight = 400

// Size is the window's size for a kiosk of size kiosk: the kiosk's width
// plus the panel's, and the kiosk's height or the height the panel needs
// to show its controls and simStatusHeight of its status, if that is
// more (the kiosk then gets the extra height).
func (w *SimWindow) Size(kiosk fyne.Size) fyne.Size {
	pm := w.panel.Content().MinSize()
	return fyne.NewSize(kiosk.Width+pm.Width, max(kiosk.Height, pm.Height+simStatusHeight))
}

// simTextSize is the panel's text size (panelTheme), its buttons' too.
const simTextSize = 15

// panelTheme is the kiosk's theme at a developer's desk size: the
// panel's buttons need not be read from a car, and at the kiosk's sizes
// (24 px text, 16 px inner padding) its one column was 850 px wide.
type panelTheme struct{ *Theme }

// Size implements fyne.Theme.
func (t panelTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return simTextSize
	case theme.SizeNameCaptionText:
		return 13
	case theme.SizeNamePadding:
		return 4
	case theme.SizeNameInnerPadding:
		return 8
	case theme.SizeNameInlineIcon:
		return 20
	case theme.SizeNameScrollBar:
		return 12
	case theme.SizeNameScrollBarSmall:
		return 6
	case theme.SizeNameInputBorder:
		return 2
	}
	return t.Theme.Size(n)
}
