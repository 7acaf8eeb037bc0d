package receipt

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is the receipt of the goldens: a stay with a validation and an
// earlier payment, paid by PayBy, at a site with a tax registration
// number. WithoutTRN drops the tax invoice (and the Arabic name, so that
// the text-only layout is covered too).
func sample(withTRN bool) Receipt {
	dubai, _ := time.LoadLocation("Asia/Dubai")
	r := Receipt{
		Site:     "Example Mall Garage",
		SiteAr:   "مرآب مول المثال",
		Merchant: "Example Parking LLC",
		Address:  "Sheikh Zayed Road, Dubai",
		TRN:      "100123456700003",
		VATRate:  500,
		Lane:     "X1",
		Ticket:   "000042",
		Entry:    time.Date(2024, 7, 1, 5, 15, 0, 0, time.UTC),
		Exit:     time.Date(2024, 7, 1, 7, 47, 30, 0, time.UTC),
		Zone:     dubai,
		Stay:     2*time.Hour + 32*time.Minute + 30*time.Second,
		Validations: []Validation{
			{Name: "Cinema, 2 hours"},
			{Name: "Loyalty card", Off: money.MustParse("2.00")},
		},
		Fee:        money.MustParse("25.00"),
		PaidBefore: money.MustParse("10.00"),
		Paid:       money.MustParse("15.00"),
		OrderNo:    "GRG01-X1-000042-2",
	}
	if !withTRN {
		r.TRN, r.VATRate, r.SiteAr = "", 0, ""
	}
	return r
}

// goldenCases are the four golden receipts: per width, with and without
// a TRN.
var goldenCases = []struct {
	name  string
	width int
	trn   bool
}{
	{"58mm-trn", 58, true},
	{"58mm", 58, false},
	{"80mm-trn", 80, true},
	{"80mm", 80, false},
}

// The receipt's ESC/POS bytes, byte for byte. The golden files hold the
// bytes as quoted Go strings, one printed line (up to and including its
// LF) per line, and raster data in 64-byte pieces, so that a change
// reads as a diff.
func TestEncodeGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Encode(sample(c.trn), Layout{Width: c.width})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "receipt-"+c.name+".escpos")
			if *update {
				if err := os.WriteFile(path, []byte(quoteLines(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./receipt -update writes it)", err)
			}
			want, err := unquoteLines(string(src))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(quoteLines(got), "\n"), strings.Split(string(src), "\n")
				for i := range max(len(gl), len(wl)) {
					g, w := at(gl, i), at(wl, i)
					if g != w {
						t.Fatalf("%s differs at line %d:\n got  %s\n want %s\n(go test ./receipt -update rewrites it)", path, i+1, g, w)
					}
				}
				t.Fatalf("%s differs", path)
			}
		})
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(end)"
}

// quoteLines writes b as quoted strings, one per line: a piece ends after
// a LF or after 64 bytes.
func quoteLines(b []byte) string {
	var out strings.Builder
	for len(b) > 0 {
		n := bytes.IndexByte(b, '\n') + 1
		if n == 0 || n > 64 {
			n = min(len(b), 64)
		}
		out.WriteString(strconv.Quote(string(b[:n])) + "\n")
		b = b[n:]
	}
	return out.String()
}

func unquoteLines(s string) ([]byte, error) {
	var out []byte
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		u, err := strconv.Unquote(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		out = append(out, u...)
	}
	return out, nil
}

// The commands, each against its bytes from the ESC/POS reference.
func TestDocCommands(t *testing.T) {
	var d Doc
	d.Init().Bold(true).Bold(false).Size(2, 2).Size(1, 2).Size(9, 0).Align(Center).Align(Right).Feed(3).Cut()
	want := []byte{
		0x1B, 0x40, 0x1B, 0x74, 0x00, // ESC @, ESC t 0
		0x1B, 0x45, 0x01, 0x1B, 0x45, 0x00, // ESC E 1, ESC E 0
		0x1D, 0x21, 0x11, 0x1D, 0x21, 0x01, 0x1D, 0x21, 0x70, // GS ! (clamped to 8x1)
		0x1B, 0x61, 0x01, 0x1B, 0x61, 0x02, // ESC a 1, ESC a 2
		0x1B, 0x64, 0x03, // ESC d 3
		0x1D, 0x56, 0x42, 0x00, // GS V 66 0
	}
	if !bytes.Equal(d.Bytes(), want) {
		t.Errorf("got  % X\nwant % X", d.Bytes(), want)
	}

	d = Doc{}
	d.QR("AB", 6, QRLevelM)
	want = []byte{
		0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, // model 2
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06, // module size 6
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31, // level M
		0x1D, 0x28, 0x6B, 0x05, 0x00, 0x31, 0x50, 0x30, 'A', 'B', // store
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30, // print
	}
	if !bytes.Equal(d.Bytes(), want) {
		t.Errorf("QR got  % X\nwant % X", d.Bytes(), want)
	}
	// A store of 300 bytes: pL pH = 303 = 0x2F 0x01.
	d = Doc{}
	d.QR(strings.Repeat("A", 300), 3, QRLevelL)
	if i := bytes.Index(d.Bytes(), []byte{0x31, 0x50, 0x30}); i < 2 || d.Bytes()[i-2] != 0x2F || d.Bytes()[i-1] != 0x01 {
		t.Errorf("QR store length bytes wrong: % X", d.Bytes()[:40])
	}
}

func TestTextIsSafe(t *testing.T) {
	var d Doc
	d.Text("Café\x1b@\x1dV\x00 ü\u200f€ مرآب\n")
	// é and ü are in PC437 (0x82, 0x81); ESC, GS, NUL, LF and the RLM
	// are dropped; € and the Arabic letters are not in PC437.
	want := []byte("Caf\x82@V \x81? ????")
	if !bytes.Equal(d.Bytes(), want) {
		t.Errorf("got %q, want %q", d.Bytes(), want)
	}
}

func TestRaster(t *testing.T) {
	img, err := arabicImage("مرآب", 384)
	if err != nil {
		t.Fatal(err)
	}
	var d Doc
	if err := d.Raster(img); err != nil {
		t.Fatal(err)
	}
	b := d.Bytes()
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	row := (w + 7) / 8
	if !bytes.Equal(b[:4], []byte{0x1D, 0x76, 0x30, 0}) || int(b[4])|int(b[5])<<8 != row || int(b[6])|int(b[7])<<8 != h || len(b) != 8+row*h {
		t.Fatalf("header % X for %dx%d, %d bytes", b[:8], w, h, len(b))
	}
	// Every dark pixel is a set bit and no other.
	for y := range h {
		for x := range w {
			set := b[8+y*row+x/8]&(0x80>>(x%8)) != 0
			if dark := img.GrayAt(x, y).Y < 128; set != dark {
				t.Fatalf("pixel %d,%d dark %v, bit %v", x, y, dark, set)
			}
		}
	}
	// Centred: as much white on the left as the ink is narrower than the line.
	ink := inkBounds(img)
	if left := ink.Min.X; left < (384-ink.Dx())/2-1 || left > (384-ink.Dx())/2+1 {
		t.Errorf("ink starts at %d, %d wide on 384 dots", left, ink.Dx())
	}
	if err := d.Raster(image.NewGray(image.Rect(0, 0, 0, 0))); err == nil {
		t.Error("an empty image was accepted")
	}
}

// A long Arabic name is drawn smaller to fit the paper.
func TestArabicNameFits(t *testing.T) {
	long := strings.Repeat("مرآب مول المثال ", 4)
	img, err := arabicImage(long, 384)
	if err != nil {
		t.Fatal(err)
	}
	if ink := inkBounds(img); ink.Dx() > 384 || ink.Min.X < 0 {
		t.Errorf("ink %v on 384 dots", ink)
	}
}

func TestLayoutLines(t *testing.T) {
	cases := []struct {
		label, value string
		cols         int
		want         []string
	}{
		{"Lane", "X1", 16, []string{"Lane          X1"}},
		{"Paid with PayBy, order", "GRG01-X1-000042-2", 32, []string{"Paid with PayBy, order", "               GRG01-X1-000042-2"}},
		{"Exit", "2024-07-01 11:47", 32, []string{"Exit            2024-07-01 11:47"}},
	}
	for _, c := range cases {
		if got := pair(c.label, c.value, c.cols); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("pair(%q, %q, %d) = %q, want %q", c.label, c.value, c.cols, got, c.want)
		}
	}
	if got := wrap("Example Mall Garage and Parking Tower", 16); strings.Join(got, "|") != "Example Mall|Garage and|Parking Tower" {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("ABCDEFGHIJKLMNOPQRSTU", 8); strings.Join(got, "|") != "ABCDEFGH|IJKLMNOP|QRSTU" {
		t.Errorf("wrap of a long word = %q", got)
	}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0m"}, {59 * time.Second, "0m"}, {45 * time.Minute, "45m"}, {2*time.Hour + 5*time.Minute, "2h 05m"}, {74 * time.Hour, "3d 2h 00m"}} {
		if got := Stay(c.d); got != c.want {
			t.Errorf("Stay(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestEncodeVariants(t *testing.T) {
	// A free exit: no order, no QR; a lost ticket: no entry, no stay.
	r := sample(false)
	r.OrderNo, r.Paid, r.Lost, r.Ticket, r.Entry = "", 0, true, "", time.Time{}
	b, err := Encode(r, Layout{})
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"\x1d(k", "Entry", "Stay", "PayBy"} {
		if bytes.Contains(b, []byte(absent)) {
			t.Errorf("%q printed on a free lost-ticket receipt", absent)
		}
	}
	if !bytes.Contains(b, []byte("Ticket                                      lost")) {
		t.Errorf("lost ticket not said:\n%s", quoteLines(b))
	}
	// NoImages leaves the Arabic name out.
	r = sample(true)
	b, err = Encode(r, Layout{Width: 58, NoImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\x1dv0")) {
		t.Error("raster image printed with NoImages")
	}
	// Errors: all at once, matching ErrInvalid.
	_, err = Encode(Receipt{VATRate: 10100, Paid: -1}, Layout{Width: 76})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode of an empty receipt = %v", err)
	}
	for _, want := range []string{"no site name", "no exit time", "paid:", "VAT 101%", "width 76"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
