package ui

import (
	"image"
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// render paints o alone in a test window and returns the image.
func render(t *testing.T, o fyne.CanvasObject, size fyne.Size) image.Image {
	t.Helper()
	w := test.NewTempWindow(t, container.NewWithoutLayout(o))
	w.SetPadded(false)
	w.Resize(size)
	o.Move(fyne.NewPos(0, 0))
	o.Resize(size)
	return w.Canvas().Capture()
}

// diff is the fraction of pixels of a with no close match in b within
// two pixels horizontally (runs drawn separately land on sub-pixel
// positions that differ slightly from one shaped line).
func diff(a, b image.Image) float64 {
	r := a.Bounds()
	if r != b.Bounds() {
		return 1
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			match := false
			for dx := -2; dx <= 2 && !match; dx++ {
				br, bg, bb, _ := b.At(x+dx, y).RGBA()
				match = absDiff(ar, br)+absDiff(ag, bg)+absDiff(ab, bb) <= 3*0x3000
			}
			if !match {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func logicalPieces(runs []bidiRun, size float32) fyne.CanvasObject {
	return piecesAt(runs, size, 0)
}

// piecesAt draws runs side by side, their text objects at y.
func piecesAt(runs []bidiRun, size, y float32) fyne.CanvasObject {
	var objs []fyne.CanvasObject
	x := float32(0)
	for _, r := range runs {
		txt := canvas.NewText(runText(r), color.White)
		txt.TextSize = size
		txt.Resize(txt.MinSize())
		txt.Move(fyne.NewPos(x, y))
		x += txt.MinSize().Width
		objs = append(objs, txt)
	}
	return container.NewWithoutLayout(objs...)
}

// TestFyneDoesNotReorderMixedLines documents fyne-io/fyne#90: a plain
// canvas.Text with a mixed Arabic/number line is drawn as its runs in
// logical order, left to right, which is wrong for Arabic. If a Fyne
// upgrade fixes this, the first check fails and BidiText can go.
func TestFyneDoesNotReorderMixedLines(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	const line = "السعر 25 ريال"
	const size = 48
	naive := canvas.NewText(line, color.White)
	naive.TextSize = size
	box := fyne.NewSize(420, naive.MinSize().Height)
	imgNaive := render(t, naive, box)

	// The runs, each drawn alone, placed in logical order.
	var logical []bidiRun
	for i := len(visualRuns(line, true)) - 1; i >= 0; i-- {
		logical = append(logical, visualRuns(line, true)[i])
	}
	imgLogical := render(t, logicalPieces(logical, size), box)

	fixed := NewBidiText(line, true, size)
	fixed.Align = fyne.TextAlignLeading
	fixed.Color = color.White
	imgFixed := render(t, fixed, box)

	// The visual order, drawn as separate runs by hand where BidiText
	// puts its line.
	y := test.WidgetRenderer(fixed).(*bidiRenderer).objects[0].Position().Y
	imgVisual := render(t, piecesAt(drawRuns(visualRuns(line, true)), size, y), box)

	t.Logf("naive vs logical %.4f, naive vs fixed %.4f, fixed vs visual %.4f", diff(imgNaive, imgLogical), diff(imgNaive, imgFixed), diff(imgFixed, imgVisual))
	if d := diff(imgNaive, imgLogical); d > 0.01 {
		t.Errorf("Fyne's own rendering differs from the runs in logical order by %.3f: has Fyne started reordering (issue #90)?", d)
	}
	if d := diff(imgNaive, imgFixed); d < 0.02 {
		t.Errorf("BidiText renders like the unordered canvas.Text (diff %.3f)", d)
	}
	if d := diff(imgFixed, imgVisual); d > 0.01 {
		t.Errorf("BidiText differs from the runs in visual order by %.3f", d)
	}
}

// TestBidiProofScreenshot renders, for docs/screenshots/bidi-proof.png,
// mixed lines as Fyne draws them alone and as BidiText draws them.
func TestBidiProofScreenshot(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	var rows []fyne.CanvasObject
	label := func(s string) *canvas.Text {
		l := canvas.NewText(s, colMuted)
		l.TextSize = 22
		return l
	}
	for _, line := range []string{"السعر 25 ريال", "امسح رمز QR بتطبيق PayBy أو BOTIM للدفع", "مدة الوقوف 2 ساعة 17 دقيقة"} {
		naive := canvas.NewText(line, colError)
		naive.TextSize = 40
		naive.Alignment = fyne.TextAlignTrailing
		fixed := NewBidiText(line, true, 40)
		fixed.Color = colSuccess
		rows = append(rows,
			container.NewBorder(nil, nil, label("Fyne canvas.Text (wrong) "), nil, naive),
			container.NewBorder(nil, nil, label("ui.BidiText (right)         "), nil, fixed),
		)
	}
	bg := canvas.NewRectangle(colBackground)
	w := test.NewTempWindow(t, container.NewStack(bg, container.NewPadded(container.NewVBox(rows...))))
	w.Resize(fyne.NewSize(1200, 600))
	writeScreenshot(t, "bidi-proof", w)
}
