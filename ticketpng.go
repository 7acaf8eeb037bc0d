package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ticketImage lays out a printable ticket: the QR on top, then lines of
// text at twice the size of the built-in 7x13 font, on white.
func ticketImage(qr image.Image, lines []string) image.Image {
	const scale, lineH, margin = 2, 16, 16
	width := qr.Bounds().Dx()
	for _, l := range lines {
		if w := len(l)*7*scale + 2*margin; w > width {
			width = w
		}
	}
	textH := len(lines) * lineH
	small := image.NewRGBA(image.Rect(0, 0, width/scale+1, textH+8))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: small, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	for i, l := range lines {
		w := len(l) * 7
		d.Dot = fixed.P((small.Bounds().Dx()-w)/2, 12+i*lineH)
		d.DrawString(l)
	}
	out := image.NewRGBA(image.Rect(0, 0, width, qr.Bounds().Dy()+small.Bounds().Dy()*scale+margin))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, qr.Bounds().Add(image.Pt((width-qr.Bounds().Dx())/2, 0)), qr, qr.Bounds().Min, draw.Src)
	top := qr.Bounds().Dy()
	for y := 0; y < small.Bounds().Dy()*scale; y++ {
		for x := 0; x < width; x++ {
			out.Set(x, top+y, small.At(x/scale, y/scale))
		}
	}
	return out
}

func encodePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
