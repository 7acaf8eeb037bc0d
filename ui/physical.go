package ui

import (
	"math"

	"fyne.io/fyne/v2"
)

// Physical minimums of the driver screens, read from a car window at about
// a metre: capital letters at least MinCapMM high, touch targets at least
// MinTargetMM on each side.
const (
	MinCapMM    = 4.0
	MinTargetMM = 10.0
	// DefaultDPI is the panel density assumed when neither the panel's
	// diagonal nor its density is configured (config.DefaultDPI).
	DefaultDPI = 140
	// capRatio is the capital height of the kiosk's Latin font (Noto Sans)
	// per unit of Fyne's TextSize (measured: an "H" of size 100 is 70 px).
	capRatio = 0.70
)

// Panel is the kiosk's physical screen, which sets the minimum sizes.
type Panel struct {
	// DiagonalInches is the visible diagonal; with the window's size (the
	// panel, full screen) it gives the density. It wins over DPI.
	DiagonalInches float32
	// DPI is the density in pixels per inch (DefaultDPI if zero).
	DPI float32
}

// unitsPerMM is how many Fyne units make a millimetre on the panel for a
// window of size (in Fyne units) on a canvas of scale (pixels per unit).
// With the diagonal, the scale cancels out: the window spans the panel.
func (p Panel) unitsPerMM(size fyne.Size, scale float32) float32 {
	if p.DiagonalInches > 0 && size.Width > 0 && size.Height > 0 {
		diag := float32(math.Hypot(float64(size.Width), float64(size.Height)))
		return diag / (p.DiagonalInches * 25.4)
	}
	dpi := p.DPI
	if dpi <= 0 {
		dpi = DefaultDPI
	}
	if scale <= 0 {
		scale = 1
	}
	return dpi / 25.4 / scale
}

// minText is the smallest TextSize whose capitals are MinCapMM high.
func (p Panel) minText(size fyne.Size, scale float32) float32 {
	return MinCapMM / capRatio * p.unitsPerMM(size, scale)
}

// minTarget is the smallest side of a touch target, in Fyne units.
func (p Panel) minTarget(size fyne.Size, scale float32) float32 {
	return MinTargetMM * p.unitsPerMM(size, scale)
}

// canvasScale is the scale of the canvas showing o (1 when not shown yet).
func canvasScale(o fyne.CanvasObject) float32 {
	app := fyne.CurrentApp()
	if app == nil {
		return 1
	}
	if c := app.Driver().CanvasForObject(o); c != nil && c.Scale() > 0 {
		return c.Scale()
	}
	return 1
}
