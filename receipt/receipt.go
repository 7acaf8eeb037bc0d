// Package receipt prints the driver's receipt on a serial ESC/POS thermal
// printer (the command set of the common 58 and 80 mm receipt printers).
//
// It has three layers:
//
//   - Doc, a pure ESC/POS encoder: init, text in code page PC437, bold,
//     character size, alignment, a QR code (GS ( k), raster images
//     (GS v 0), feed and cut;
//   - Receipt and Encode, the receipt's content and its layout on paper of
//     32 columns (58 mm) or 48 columns (80 mm): site, lane, entry and exit
//     times in the site's zone, stay, fee, validations, the PayBy order
//     number and its QR, and, where the site has a tax registration number
//     (TRN), a simplified tax invoice with the VAT included (money.VATPart,
//     the lane's one VAT rounding);
//   - Printer, which sends an encoded receipt over a serialport.Link,
//     asks the printer for its paper status first and after (DLE EOT 4),
//     and reports an empty roll, a silent printer or an unplugged one as
//     errors within a short timeout. A printer fault never holds up the
//     caller longer than that: the lane lets the driver out regardless.
//
// Thermal printers have no Arabic glyphs (their code pages are Latin,
// Cyrillic, Greek, ...; the few Arabic ones differ between makers and do
// not join letters). The site's name is printed in Latin letters as
// text, and its Arabic name, when given, as a picture: shaped and laid
// right to left from the Arabic font embedded in assets, sent as a raster
// image (GS v 0), which every ESC/POS printer prints. Layout.NoImages
// leaves the picture out for a printer that cannot print images.
package receipt

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Receipt is what one receipt says. The station builds it from the lane's
// snapshot of a paid (or free) exit and the site's config; Encode lays it
// out.
type Receipt struct {
	// Site is the car park's name in Latin letters (English or
	// transliterated): printed as text, large.
	Site string
	// SiteAr is the Arabic name ("": none), printed as a picture under
	// Site unless Layout.NoImages.
	SiteAr string
	// Merchant is the supplier's legal name and Address its address,
	// printed under the name ("": left out). A simplified tax invoice
	// names both.
	Merchant string
	Address  string
	// TRN is the supplier's tax registration number. When set, the
	// receipt is headed "Simplified tax invoice", prints the TRN and
	// splits the amount paid into the amount excluding VAT and the VAT at
	// VATRate.
	TRN string
	// VATRate is the VAT rate included in the tariff's prices, in
	// hundredths of a percent as the ledger books it (UAE: 500, 5 %);
	// used only with a TRN.
	VATRate int64

	// Lane is this exit lane's code.
	Lane string
	// Ticket is the ticket's serial number ("" for a lost ticket).
	Ticket string
	// Lost: no ticket, priced at the lost-ticket fee (no entry time).
	Lost bool
	// Entry and Exit are printed in Zone (the site's zone; nil means
	// UTC). Entry is left out when zero; Exit is when the exit was paid.
	Entry, Exit time.Time
	Zone        *time.Location
	// Stay is the priced stay (entry to exit).
	Stay time.Duration

	// Validations applied to this visit, in order.
	Validations []Validation
	// Fee is the tariff's fee for the stay, validations applied;
	// PaidBefore what was paid earlier for the same ticket (its own
	// receipt covers it); Paid what was paid now, the total of this
	// receipt.
	Fee, PaidBefore, Paid money.Fils

	// OrderNo is the PayBy merchantOrderNo that paid (""; a free exit). It
	// is printed, and as a QR code, so an attendant can find the payment
	// by scanning the receipt.
	OrderNo string
}

// Validation is one validation applied to a visit.
type Validation struct {
	// Name is the validation's name ("Cinema, 2 hours").
	Name string
	// Off is the amount it took off the fee, when known (0: the name is
	// printed alone, as for a validation that takes time off the stay).
	Off money.Fils
}

// ErrInvalid marks a Receipt that cannot be printed.
var ErrInvalid = errors.New("invalid receipt")

// Validate reports what makes r unprintable, all at once.
func (r Receipt) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	if strings.TrimSpace(r.Site) == "" {
		bad("no site name")
	}
	if r.Exit.IsZero() {
		bad("no exit time")
	}
	for _, a := range []struct {
		name string
		v    money.Fils
	}{{"fee", r.Fee}, {"paid before", r.PaidBefore}, {"paid", r.Paid}} {
		if err := a.v.CheckRange(); err != nil {
			bad("%s: %v", a.name, err)
		}
	}
	for _, v := range r.Validations {
		if err := v.Off.CheckRange(); err != nil {
			bad("validation %q: %v", v.Name, err)
		}
	}
	if r.VATRate < 0 || r.VATRate > 10000 {
		bad("VAT %s is not 0-100%%", ratePercent(r.VATRate))
	}
	if r.Stay < 0 {
		bad("negative stay %v", r.Stay)
	}
	return errors.Join(errs...)
}

// VAT is the VAT included in Paid at VATRate (0 without a TRN):
// money.VATPart, the rounding the ledger books and the reports sum, so a
// receipt never says another VAT than the books.
func (r Receipt) VAT() money.Fils {
	if r.TRN == "" {
		return 0
	}
	return money.VATPart(r.Paid, r.VATRate)
}

// ratePercent writes a rate in hundredths of a percent as a percentage
// with no trailing zeros: 500 "5%", 250 "2.5%", 1234 "12.34%".
func ratePercent(rate int64) string {
	s := money.Fils(rate).Decimal()
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
	return s + "%"
}

// Paper widths, in millimetres.
const (
	Width58 = 58
	Width80 = 80
)

// Layout says how a receipt is laid out on the printer's paper.
type Layout struct {
	// Width is the paper width in millimetres: 58 (32 columns of the
	// normal 12×24-dot font, 384 dots) or 80 (48 columns, 576 dots);
	// 0 means 80.
	Width int
	// NoImages prints no raster image (for the rare printer without
	// GS v 0): the Arabic name is left out.
	NoImages bool
}

func (l Layout) width() int {
	if l.Width == 0 {
		return Width80
	}
	return l.Width
}

// Validate reports a width other than 58 or 80.
func (l Layout) Validate() error {
	if w := l.width(); w != Width58 && w != Width80 {
		return fmt.Errorf("receipt: paper width %d mm: 58 or 80", w)
	}
	return nil
}

// Columns is the number of normal-size characters on a line.
func (l Layout) Columns() int {
	if l.width() == Width58 {
		return 32
	}
	return 48
}

// Dots is the printable width in dots (8 dots per mm).
func (l Layout) Dots() int { return l.Columns() * 12 }

// QR module size in dots: a 20-character order number makes a version 2
// code (25 modules), 150 dots or 19 mm wide, which phones read easily.
const qrModule = 6

// Encode lays r out for l and returns the ESC/POS bytes that print it,
// from the printer reset to the cut.
func Encode(r Receipt, l Layout) ([]byte, error) {
	if err := errors.Join(r.Validate(), l.Validate()); err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	cols := l.Columns()
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	d := new(Doc).Init()
	rule := strings.Repeat("-", cols)

	// Head: the site's name large, its Arabic name as a picture, who
	// issues the receipt.
	d.Align(Center).Bold(true).Size(2, 2)
	for _, s := range wrap(r.Site, cols/2) {
		d.Line(s)
	}
	d.Size(1, 1).Bold(false)
	if r.SiteAr != "" && !l.NoImages {
		img, err := arabicImage(r.SiteAr, l.Dots())
		if err != nil {
			return nil, fmt.Errorf("receipt: arabic name: %w", err)
		}
		// The picture is padded to the centre: whether ESC a applies to
		// raster images differs between printers.
		d.Align(Left)
		if err := d.Raster(img); err != nil {
			return nil, err
		}
		d.Align(Center)
	}
	for _, s := range []string{r.Merchant, r.Address} {
		for _, line := range wrap(s, cols) {
			d.Line(line)
		}
	}
	if r.TRN != "" {
		d.Line("TRN " + r.TRN)
		d.Bold(true).Line("Simplified tax invoice").Bold(false)
	}
	d.Align(Left).Line(rule)

	// The stay.
	kv := func(label, value string) {
		for _, line := range pair(label, value, cols) {
			d.Line(line)
		}
	}
	kv("Lane", r.Lane)
	if r.Lost {
		kv("Ticket", "lost")
	} else {
		kv("Ticket", r.Ticket)
	}
	if !r.Entry.IsZero() {
		kv("Entry", r.Entry.In(zone).Format(timeLayout))
	}
	kv("Exit", r.Exit.In(zone).Format(timeLayout))
	if !r.Lost {
		kv("Stay", Stay(r.Stay))
	}
	d.Line(rule)

	// The money.
	if len(r.Validations) > 0 {
		d.Line("Validations")
		for _, v := range r.Validations {
			if v.Off > 0 {
				kv("  "+v.Name, "-"+v.Off.String())
			} else {
				for _, line := range wrap(v.Name, cols-2) {
					d.Line("  " + line)
				}
			}
		}
	}
	kv("Parking fee", r.Fee.String())
	if r.PaidBefore > 0 {
		kv("Paid before", "-"+r.PaidBefore.String())
	}
	d.Bold(true).Size(1, 2)
	kv("Total paid", r.Paid.String())
	d.Size(1, 1).Bold(false)
	if r.TRN != "" {
		vat := r.VAT()
		kv("Amount excl. VAT", (r.Paid - vat).String())
		kv("VAT "+ratePercent(r.VATRate)+" included", vat.String())
	}
	d.Line(rule)

	// The payment, and its QR for the attendant.
	if r.OrderNo != "" {
		kv("Paid with PayBy, order", r.OrderNo)
		d.Align(Center).QR(r.OrderNo, qrModule, QRLevelM).Line("")
	} else {
		d.Align(Center)
	}
	d.Line("Thank you")
	d.Align(Left).Feed(3).Cut()
	return d.Bytes(), nil
}

// timeLayout prints a time as 2024-07-01 09:15, in the site's zone.
const timeLayout = "2006-01-02 15:04"

// Stay writes a stay as "2h 05m", "45m" or "3d 2h 05m" (whole minutes,
// rounded down, as the tariff bills started periods from entry anyway).
func Stay(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int64(d / time.Minute)
	days, h, min := m/(24*60), m/60%24, m%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %02dm", days, h, min)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, min)
	}
	return fmt.Sprintf("%dm", min)
}

// pair lays out label and value on one line of cols columns, the value
// right-aligned, or on two lines (label, then the value right-aligned)
// when they do not fit together; text longer than a line is wrapped.
func pair(label, value string, cols int) []string {
	lw, vw := width(label), width(value)
	if lw+1+vw <= cols {
		return []string{label + strings.Repeat(" ", cols-lw-vw) + value}
	}
	out := wrap(label, cols)
	for _, v := range wrap(value, cols) {
		out = append(out, strings.Repeat(" ", cols-width(v))+v)
	}
	return out
}

// width is the number of columns s takes (one per character).
func width(s string) int { return len([]rune(s)) }

// wrap breaks s into lines of at most cols columns, at spaces where it
// can, mid-word where a word is longer than a line. It returns nothing
// for blank text.
func wrap(s string, cols int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		for width(w) > cols {
			if line != "" {
				out = append(out, line)
				line = ""
			}
			r := []rune(w)
			out = append(out, string(r[:cols]))
			w = string(r[cols:])
		}
		switch {
		case line == "":
			line = w
		case width(line)+1+width(w) <= cols:
			line += " " + w
		default:
			out = append(out, line)
			line = w
		}
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
