package receipt

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"sync"

	"github.com/exitlane/exitlane/assets"
	"github.com/go-text/render"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
)

// arabicSize is the Arabic name's font size in dots: its letters come out
// about as tall as the Latin name's double-height text above it.
const arabicSize = 34

var (
	arabicOnce sync.Once
	arabicFace *font.Face
	arabicErr  error
)

// face is the embedded Noto Sans Arabic Bold (bold survives thermal
// printing better than the thin regular face).
func face() (*font.Face, error) {
	arabicOnce.Do(func() {
		arabicFace, arabicErr = font.ParseTTF(bytes.NewReader(assets.FontBold()))
	})
	return arabicFace, arabicErr
}

type oneFace struct{ f *font.Face }

func (o oneFace) ResolveFace(rune) *font.Face { return o.f }

// arabicImage draws s shaped (letters joined as Arabic is written) and
// laid out right to left, with any digits or Latin runs inside it left to
// right, black on white, cropped to its ink and padded on the left so
// that it sits in the middle of a line dots wide. A name too long for the
// line is drawn smaller until it fits.
func arabicImage(s string, dots int) (*image.Gray, error) {
	f, err := face()
	if err != nil {
		return nil, err
	}
	size := arabicSize
	line, adv := shapeRTL(s, f, size)
	if adv > dots-8 && adv > 0 {
		size = max(size*(dots-8)/adv, 12)
		line, adv = shapeRTL(s, f, size)
	}
	if adv <= 0 {
		return nil, errors.New("nothing to draw")
	}
	// Draw with room above and below, then crop to the ink.
	canvas := image.NewGray(image.Rect(0, 0, adv+4, size*2))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	r := &render.Renderer{FontSize: float32(size), Color: color.Black}
	// Runs come in logical order; in a right-to-left line the last one is
	// drawn leftmost. (Only one level of embedding, digits or Latin
	// inside Arabic, is handled, which is all a name needs.)
	x := 2
	for i := len(line) - 1; i >= 0; i-- {
		x = r.DrawShapedRunAt(line[i], canvas, x, size*13/10)
	}
	ink := inkBounds(canvas)
	if ink.Empty() {
		return nil, errors.New("no glyphs drawn")
	}
	w := min(ink.Dx(), dots)
	pad := (dots - w) / 2
	out := image.NewGray(image.Rect(0, 0, pad+w, ink.Dy()+4))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(pad, 2, pad+w, 2+ink.Dy()), canvas, ink.Min, draw.Src)
	// Thermal dots are on or off: threshold now so that what is encoded
	// is exactly what is returned.
	for i, v := range out.Pix {
		if v < 128 {
			out.Pix[i] = 0
		} else {
			out.Pix[i] = 0xFF
		}
	}
	return out, nil
}

// shapeRTL splits s into runs of one direction and script and shapes
// each; adv is the total advance in dots.
func shapeRTL(s string, f *font.Face, size int) (line []shaping.Output, adv int) {
	text := []rune(s)
	in := shaping.Input{
		Text: text, RunStart: 0, RunEnd: len(text),
		Direction: di.DirectionRTL, Face: f, Size: fixed.I(size),
		Script: language.Arabic, Language: language.NewLanguage("ar"),
	}
	var seg shaping.Segmenter
	var sh shaping.HarfbuzzShaper
	var total fixed.Int26_6
	for _, run := range seg.Split(in, oneFace{f}) {
		out := sh.Shape(run)
		line = append(line, out)
		total += out.Advance
	}
	return line, total.Ceil()
}

// inkBounds is the smallest rectangle holding every pixel darker than
// mid-grey.
func inkBounds(img *image.Gray) image.Rectangle {
	b := img.Bounds()
	ink := image.Rectangle{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.GrayAt(x, y).Y < 128 {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return ink
}
