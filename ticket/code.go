// Package ticket reads parking tickets: the signed EL1, EL2 and EL3 code formats, the
// unsigned pattern format of third-party entry terminals, the tariff that
// prices a stay, and the line framer that turns a barcode scanner's bytes
// into codes (the device reader that owns the port is package scanner).
//
// Everything here is pure: callers pass "now".
package ticket

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Errors a checker returns; the lane turns each into a notice for the
// driver. Each returned error wraps one of them with the detail.
var (
	// ErrMalformed: the code is not a ticket of the configured format.
	ErrMalformed = errors.New("malformed ticket code")
	// ErrForged: the MAC does not match; the code was edited or made up.
	ErrForged = errors.New("forged ticket code")
	// ErrOtherSite: a genuine-looking ticket of another car park.
	ErrOtherSite = errors.New("ticket of another site")
	// ErrFutureEntry: the entry time is later than now plus the tolerance.
	ErrFutureEntry = errors.New("ticket entry time is in the future")
)

// Ticket is a checked ticket.
type Ticket struct {
	Code   string    // the code as scanned
	Format Format    // FormatSigned or FormatPattern
	Site   string    // site of entry ("" for pattern tickets)
	Lane   string    // entry lane ("" for pattern tickets)
	Serial string    // the ticket number, decimal digits for signed codes
	Entry  time.Time // entry instant, UTC
	Signed bool      // true when authenticated by a MAC
	// Class is the vehicle class the code carries, in lower case (an EL2
	// code, or a pattern's class group); "" when it carries none, which
	// the tariff prices as DefaultClass.
	Class string
	// Plate is the vehicle's plate the code carries, normalised by
	// NormPlate (an EL3 code, or a pattern's plate group); "" when it
	// carries none. It is the vehicle's identity for a re-entry.
	Plate string
}

// Format is how a ticket's code is read.
type Format string

const (
	FormatSigned  Format = "signed"  // exitlane's signed EL1, EL2 or EL3 code
	FormatPattern Format = "pattern" // a third-party code read by a pattern, unsigned
)

// ID is the ticket's stable identity, used for anti-passback and to find
// earlier payments: the same physical ticket always has the same ID.
func (t Ticket) ID() string {
	return t.Site + "/" + t.Lane + "/" + t.Serial + "/" + strconv.FormatInt(t.Entry.Unix(), 10)
}

// Checker parses and verifies a scanned code at time now.
type Checker interface {
	Check(code string, now time.Time) (Ticket, error)
}

// DefaultTolerance is how far in the future an entry time may lie before
// the ticket is refused; entry and exit clocks disagree a little.
const DefaultTolerance = 2 * time.Minute

// MinKeyLen is the shortest ticket key accepted, in bytes (32 hex digits).
const MinKeyLen = 16

const (
	signedPrefix = "EL1"
	classPrefix  = "EL2"
	platePrefix  = "EL3"
	macLen       = 16 // hex characters of HMAC-SHA256 kept in the code
)

// Signed issues and checks EL1, EL2 and EL3 codes:
//
//	EL1:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<MAC>
//	EL2:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<CLASS>:<MAC>
//	EL3:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<CLASS>:<PLATE>:<MAC>
//
// SITE and LANE are 1-8 of A-Z 0-9, SERIAL 1-12 decimal digits, ENTRY Unix
// seconds, CLASS the vehicle class as 1-12 of A-Z 0-9 (the class name in
// upper case), MAC the first 16 upper-case hex characters of HMAC-SHA256
// keyed with the site's ticket key over everything before the last colon.
// EL2 only adds the class: every EL1 code stays valid, and an EL1 code is
// priced as the default class. EL3 adds the vehicle's plate as 1-12 of
// A-Z 0-9 (NormPlate), read at entry by a plate camera or typed by the
// entry terminal; in EL3 the class and the plate may each be empty (no
// class: the default; no plate: no identity for a re-entry).
type Signed struct {
	site      string
	key       []byte
	tolerance time.Duration
}

// NewSigned returns the codec of one site. tolerance 0 means
// DefaultTolerance.
func NewSigned(site string, key []byte, tolerance time.Duration) (*Signed, error) {
	if !validCode(site) {
		return nil, fmt.Errorf("ticket: site %q must be 1-8 of A-Z 0-9", site)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("ticket: key is %d bytes, want at least %d (%d hex digits)", len(key), MinKeyLen, 2*MinKeyLen)
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	return &Signed{site: site, key: append([]byte(nil), key...), tolerance: tolerance}, nil
}

// ParseKey reads a hex ticket key as stored in the key file.
func ParseKey(text string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("ticket key is not hex: %w", err)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("ticket key has %d hex digits, want at least %d", 2*len(key), 2*MinKeyLen)
	}
	return key, nil
}

// Issue returns the signed code of a ticket issued at lane with serial at
// entry (truncated to the second).
func (s *Signed) Issue(lane string, serial uint64, entry time.Time) (string, error) {
	if !validCode(lane) {
		return "", fmt.Errorf("ticket: lane %q must be 1-8 of A-Z 0-9", lane)
	}
	if serial > 999_999_999_999 {
		return "", fmt.Errorf("ticket: serial %d has more than 12 digits", serial)
	}
	if entry.Unix() < 0 {
		return "", fmt.Errorf("ticket: entry %s before 1970", entry)
	}
	body := fmt.Sprintf("%s:%s:%s:%d:%d", signedPrefix, s.site, lane, serial, entry.Unix())
	return body + ":" + s.mac(body), nil
}

// IssueClass is Issue with a vehicle class: an EL2 code carrying class
// (1-12 of a-z 0-9, see ValidClass), or an EL1 code when class is "".
func (s *Signed) IssueClass(lane string, serial uint64, entry time.Time, class string) (string, error) {
	if class == "" {
		return s.Issue(lane, serial, entry)
	}
	if !ValidClass(class) {
		return "", fmt.Errorf("ticket: class %q must be 1-12 of a-z 0-9", class)
	}
	code, err := s.Issue(lane, serial, entry)
	if err != nil {
		return "", err
	}
	body := classPrefix + code[len(signedPrefix):strings.LastIndexByte(code, ':')] + ":" + strings.ToUpper(class)
	return body + ":" + s.mac(body), nil
}

// IssuePlate is IssueClass with the vehicle's plate: an EL3 code
// carrying class (may be "") and plate, or IssueClass's code when plate
// is "".
func (s *Signed) IssuePlate(lane string, serial uint64, entry time.Time, class, plate string) (string, error) {
	if plate == "" {
		return s.IssueClass(lane, serial, entry, class)
	}
	return s.IssueEL3(lane, serial, entry, class, plate)
}

// IssueEL3 returns the EL3 code of a ticket: class (1-12 of a-z 0-9, or
// "") and plate (normalised by NormPlate, or "") are both optional.
func (s *Signed) IssueEL3(lane string, serial uint64, entry time.Time, class, plate string) (string, error) {
	if class != "" && !ValidClass(class) {
		return "", fmt.Errorf("ticket: class %q must be 1-12 of a-z 0-9", class)
	}
	p, ok := NormPlate(plate)
	if !ok && p != "" {
		return "", fmt.Errorf("ticket: plate %q must be 1-12 letters A-Z and digits (spaces and dashes are dropped)", plate)
	}
	code, err := s.Issue(lane, serial, entry)
	if err != nil {
		return "", err
	}
	body := platePrefix + code[len(signedPrefix):strings.LastIndexByte(code, ':')] + ":" + strings.ToUpper(class) + ":" + p
	return body + ":" + s.mac(body), nil
}

// NormPlate normalises a plate as codes carry it: upper case, spaces and
// dashes dropped ("dxb a-12345" is "DXBA12345"); ok is false unless the
// result is 1-12 of A-Z 0-9.
func NormPlate(plate string) (string, bool) {
	p := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(plate)))
	return p, validClassCode(p)
}

func (s *Signed) mac(body string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(body))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))[:macLen]
}

// Check parses code and verifies its MAC, site and entry time. Errors wrap
// ErrMalformed, ErrForged, ErrOtherSite or ErrFutureEntry. The MAC is
// checked before the site, so a forged code never reads as "other site".
func (s *Signed) Check(code string, now time.Time) (Ticket, error) {
	t, mac, err := ParseSigned(code)
	if err != nil {
		return Ticket{}, err
	}
	body := code[:strings.LastIndexByte(code, ':')]
	want := s.mac(body)
	if !hmac.Equal([]byte(want), []byte(mac)) {
		if t.Site != s.site {
			// A key of another site cannot be checked here; say so rather
			// than call a genuine foreign ticket forged.
			return t, fmt.Errorf("check ticket: site %s, this is %s: %w", t.Site, s.site, ErrOtherSite)
		}
		return t, fmt.Errorf("check ticket %s: MAC mismatch: %w", t.Serial, ErrForged)
	}
	if t.Site != s.site {
		return t, fmt.Errorf("check ticket: site %s, this is %s: %w", t.Site, s.site, ErrOtherSite)
	}
	t.Signed = true
	if t.Entry.After(now.Add(s.tolerance)) {
		return t, fmt.Errorf("check ticket %s: entry %s is after now %s: %w",
			t.Serial, t.Entry.Format(time.RFC3339), now.UTC().Format(time.RFC3339), ErrFutureEntry)
	}
	return t, nil
}

// ParseSigned splits an EL1, EL2 or EL3 code into its fields without verifying
// the MAC, which it returns separately. Only the exact format is accepted:
// upper-case, no spaces, no leading zeros in the entry, 16 hex MAC digits.
func ParseSigned(code string) (Ticket, string, error) {
	bad := func(why string) (Ticket, string, error) {
		return Ticket{}, "", fmt.Errorf("parse ticket: %s: %w", why, ErrMalformed)
	}
	if len(code) > 96 {
		return bad("too long")
	}
	parts := strings.Split(code, ":")
	var class, plate string
	switch {
	case len(parts) > 0 && parts[0] == platePrefix:
		if len(parts) != 8 {
			return bad(fmt.Sprintf("%d fields, want 8", len(parts)))
		}
		class, plate = parts[5], parts[6]
		if class != "" && !validClassCode(class) {
			return bad("class is not empty or 1-12 of A-Z 0-9")
		}
		if plate != "" && !validClassCode(plate) {
			return bad("plate is not empty or 1-12 of A-Z 0-9")
		}
		parts = append(parts[:5], parts[7])
	case len(parts) > 0 && parts[0] == classPrefix:
		if len(parts) != 7 {
			return bad(fmt.Sprintf("%d fields, want 7", len(parts)))
		}
		class = parts[5]
		if !validClassCode(class) {
			return bad("class is not 1-12 of A-Z 0-9")
		}
		parts = append(parts[:5], parts[6])
	case len(parts) != 6:
		return bad(fmt.Sprintf("%d fields, want 6", len(parts)))
	case parts[0] != signedPrefix:
		return bad("not an EL1, EL2 or EL3 code")
	}
	site, lane, serial, entry, mac := parts[1], parts[2], parts[3], parts[4], parts[5]
	if !validCode(site) {
		return bad("site is not 1-8 of A-Z 0-9")
	}
	if !validCode(lane) {
		return bad("lane is not 1-8 of A-Z 0-9")
	}
	if !digits(serial, 12) {
		return bad("serial is not 1-12 digits")
	}
	if !digits(entry, 12) || (len(entry) > 1 && entry[0] == '0') {
		return bad("entry is not Unix seconds")
	}
	if len(mac) != macLen || !upperHex(mac) {
		return bad("MAC is not 16 upper-case hex digits")
	}
	sec, err := strconv.ParseInt(entry, 10, 64)
	if err != nil {
		return bad("entry out of range")
	}
	return Ticket{
		Code:   code,
		Format: FormatSigned,
		Site:   site,
		Lane:   lane,
		Serial: serial,
		Entry:  time.Unix(sec, 0).UTC(),
		Class:  strings.ToLower(class),
		Plate:  plate,
	}, mac, nil
}

// validClassCode reports whether s is a class as an EL2 code writes it:
// 1-12 of A-Z 0-9.
func validClassCode(s string) bool {
	if len(s) < 1 || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validCode(s string) bool {
	if len(s) < 1 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func digits(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func upperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Pattern reads the unsigned codes of a third-party entry terminal: a
// regular expression with the named groups "serial" and "entry" (and
// optionally "class", the vehicle class, read in lower case, and
// "plate", the vehicle's plate, normalised by NormPlate), and the
// time layout of "entry" (a Go layout evaluated in the site's zone, or
// "unix" for Unix seconds). Such tickets cannot be authenticated: an edited
// entry time goes unnoticed, which the admin screen states.
type Pattern struct {
	re        *regexp.Regexp
	layout    string
	loc       *time.Location
	tolerance time.Duration
}

// NewPattern compiles a pattern format. The expression is anchored to the
// whole code. tolerance 0 means DefaultTolerance.
func NewPattern(expr, layout string, loc *time.Location, tolerance time.Duration) (*Pattern, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("ticket pattern: %w", err)
	}
	if re.SubexpIndex("serial") < 0 || re.SubexpIndex("entry") < 0 {
		return nil, errors.New(`ticket pattern: needs named groups (?P<serial>...) and (?P<entry>...)`)
	}
	if layout == "" {
		return nil, errors.New(`ticket pattern: time layout is empty (a Go layout like "060102150405" or "unix")`)
	}
	if loc == nil {
		loc = time.UTC
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	return &Pattern{re: re, layout: layout, loc: loc, tolerance: tolerance}, nil
}

// Check parses an unsigned code. Errors wrap ErrMalformed or
// ErrFutureEntry.
func (p *Pattern) Check(code string, now time.Time) (Ticket, error) {
	if len(code) > 256 {
		return Ticket{}, fmt.Errorf("parse ticket: too long: %w", ErrMalformed)
	}
	m := p.re.FindStringSubmatch(code)
	if m == nil {
		return Ticket{}, fmt.Errorf("parse ticket: does not match the configured pattern: %w", ErrMalformed)
	}
	serial, entryText := m[p.re.SubexpIndex("serial")], m[p.re.SubexpIndex("entry")]
	if serial == "" {
		return Ticket{}, fmt.Errorf("parse ticket: empty serial: %w", ErrMalformed)
	}
	var entry time.Time
	if p.layout == "unix" {
		if !digits(entryText, 12) {
			return Ticket{}, fmt.Errorf("parse ticket: entry %q is not Unix seconds: %w", entryText, ErrMalformed)
		}
		sec, _ := strconv.ParseInt(entryText, 10, 64)
		entry = time.Unix(sec, 0)
	} else {
		var err error
		entry, err = time.ParseInLocation(p.layout, entryText, p.loc)
		if err != nil {
			return Ticket{}, fmt.Errorf("parse ticket: entry %q does not fit layout %q: %w", entryText, p.layout, ErrMalformed)
		}
	}
	t := Ticket{Code: code, Format: FormatPattern, Serial: serial, Entry: entry.UTC()}
	if i := p.re.SubexpIndex("class"); i >= 0 && m[i] != "" {
		t.Class = strings.ToLower(m[i])
		if !ValidClass(t.Class) {
			return Ticket{}, fmt.Errorf("parse ticket: class %q is not 1-12 of a-z 0-9: %w", m[i], ErrMalformed)
		}
	}
	if i := p.re.SubexpIndex("plate"); i >= 0 && m[i] != "" {
		plate, ok := NormPlate(m[i])
		if !ok {
			return Ticket{}, fmt.Errorf("parse ticket: plate %q is not 1-12 letters and digits: %w", m[i], ErrMalformed)
		}
		t.Plate = plate
	}
	if t.Entry.After(now.Add(p.tolerance)) {
		return t, fmt.Errorf("check ticket %s: entry %s is in the future: %w", serial, t.Entry.Format(time.RFC3339), ErrFutureEntry)
	}
	return t, nil
}
