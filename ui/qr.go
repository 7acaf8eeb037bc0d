package ui

import (
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	qrcode "github.com/skip2/go-qrcode"
)

// qrImage encodes text as a QR code, one pixel per module with a 4-module
// quiet zone. The canvas scales it with ImageScalePixels (nearest
// neighbour), so modules stay sharp at any size.
func qrImage(text string) (image.Image, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return q.Image(-1), nil
}

// newQR returns a canvas image of the QR code for text, or nil when text
// cannot be encoded (too long).
func newQR(text string) *canvas.Image {
	img, err := qrImage(text)
	if err != nil {
		return nil
	}
	c := canvas.NewImageFromImage(img)
	c.FillMode = canvas.ImageFillContain
	c.ScaleMode = canvas.ImageScalePixels
	c.SetMinSize(fyne.NewSquareSize(64))
	return c
}
