package ui

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
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

// proofLines are the mixed lines of docs/screenshots/bidi-proof.png: a
// fee, a sentence with Latin names in it, a duration with two numbers.
var proofLines = []string{"السعر 25 ريال", "امسح رمز QR بتطبيق PayBy أو BOTIM للدفع", "مدة الوقوف 2 ساعة 17 دقيقة"}

// TestFyneDoesNotReorderMixedLines documents fyne-io/fyne#90: a plain
// canvas.Text with a mixed Arabic/number line is drawn as its runs in
// logical order, left to right, which is wrong for Arabic. If a Fyne
// upgrade fixes this, the first check fails and BidiText can go. It checks
// every line of the bidi proof picture, so the picture shows what it says.
func TestFyneDoesNotReorderMixedLines(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	const size = 48
	for _, line := range proofLines {
		t.Run(line, func(t *testing.T) {
			naive := canvas.NewText(line, color.White)
			naive.TextSize = size
			fixed := NewBidiText(line, true, size)
			fixed.Align = fyne.TextAlignLeading
			fixed.Color = color.White
			// Wide enough for either, so BidiText does not wrap.
			box := fyne.NewSize(max(naive.MinSize().Width, fixed.MinSize().Width)+20, naive.MinSize().Height)
			imgNaive := render(t, naive, box)
			imgFixed := render(t, fixed, box)

			// The runs, each drawn alone, placed in logical order and in
			// visual order.
			visual := visualRuns(line, true)
			var logical []bidiRun
			for i := len(visual) - 1; i >= 0; i-- {
				logical = append(logical, visual[i])
			}
			imgLogical := render(t, logicalPieces(logical, size), box)
			// The visual order, drawn as separate runs by hand where
			// BidiText puts its line.
			y := test.WidgetRenderer(fixed).(*bidiRenderer).objects[0].Position().Y
			imgVisual := render(t, piecesAt(drawRuns(visual), size, y), box)

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
		})
	}
}

var update = flag.Bool("update", false, "rewrite docs/screenshots/bidi-proof.png from this rendering")

// bidiProof is the committed picture TestBidiProofScreenshot compares with.
const bidiProof = "../docs/screenshots/bidi-proof.png"

// TestBidiProofScreenshot renders docs/screenshots/bidi-proof.png (each
// proof line as Fyne draws it alone, then as BidiText draws it) and fails
// when the committed picture is not what the code draws: the README shows
// it as the proof. After an intended change: go test ./ui -run
// BidiProofScreenshot -update.
func TestBidiProofScreenshot(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	var rows []fyne.CanvasObject
	label := func(s string) *canvas.Text {
		l := canvas.NewText(s, colMuted)
		l.TextSize = 22
		return l
	}
	for _, line := range proofLines {
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
	got := w.Canvas().Capture()
	if *update {
		writePNG(t, bidiProof, got)
		return
	}
	f, err := os.Open(bidiProof)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", bidiProof, err)
	}
	// The committed picture was reduced to 64 colours, which diff's colour
	// and two-pixel slack absorb (it measures 0). The fee line's two runs
	// drawn in swapped order changes 0.0018 of the pixels.
	if d := diff(got, want); d > bidiProofTolerance {
		failed := filepath.Join("testdata", "failed", "bidi-proof.png")
		writePNG(t, failed, got)
		t.Errorf("%s differs from the rendering by %.4f of its pixels (tolerance %.4f); the rendering is in ui/%s; if the change is intended, run go test ./ui -run BidiProofScreenshot -update", bidiProof, d, bidiProofTolerance, failed)
	}
}

const bidiProofTolerance = 0.0002

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
