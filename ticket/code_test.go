package ticket

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// vectorMAC was computed with openssl for TestSignedVector.
const vectorMAC = "6FB523B137A10EC9"

var testKey = []byte("0123456789abcdef0123456789abcdef")

func signer(t testing.TB, site string) *Signed {
	s, err := NewSigned(site, testKey, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignedRoundTrip(t *testing.T) {
	s := signer(t, "GRG01")
	entry := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	code, err := s.Issue("E1", 48213, entry)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, "EL1:GRG01:E1:48213:1772431200:") || len(code) != len("EL1:GRG01:E1:48213:1772431200:")+16 {
		t.Fatalf("code %q", code)
	}
	tk, err := s.Check(code, entry.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := Ticket{Code: code, Format: "signed", Site: "GRG01", Lane: "E1", Serial: "48213", Entry: entry, Signed: true}
	if tk != want {
		t.Fatalf("got %+v\nwant %+v", tk, want)
	}
	if tk.ID() != "GRG01/E1/48213/1772431200" {
		t.Fatalf("ID %q", tk.ID())
	}
}

// A known vector, computed independently:
// printf 'EL1:S1:L1:1:0' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
func TestSignedVector(t *testing.T) {
	s := signer(t, "S1")
	code, _ := s.Issue("L1", 1, time.Unix(0, 0))
	if code != "EL1:S1:L1:1:0:"+vectorMAC {
		t.Fatalf("code %q", code)
	}
}

func TestSignedErrors(t *testing.T) {
	s := signer(t, "GRG01")
	other := signer(t, "MALL2")
	otherKey, _ := NewSigned("GRG01", []byte("ffffffffffffffffffffffffffffffff"), 0)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	good, _ := s.Issue("E1", 7, now.Add(-time.Hour))
	edited := strings.Replace(good, ":7:", ":8:", 1)
	foreign, _ := other.Issue("E1", 7, now.Add(-time.Hour))
	wrongKey, _ := otherKey.Issue("E1", 7, now.Add(-time.Hour))
	future, _ := s.Issue("E1", 7, now.Add(3*time.Minute))
	nearFuture, _ := s.Issue("E1", 7, now.Add(90*time.Second))
	lower := good[:len(good)-16] + strings.ToLower(good[len(good)-16:])
	cases := []struct {
		name, code string
		want       error
	}{
		{"good", good, nil},
		{"clock tolerance", nearFuture, nil},
		{"edited serial", edited, ErrForged},
		{"wrong key", wrongKey, ErrForged},
		{"other site", foreign, ErrOtherSite},
		{"future entry", future, ErrFutureEntry},
		{"empty", "", ErrMalformed},
		{"garbage", "hello world", ErrMalformed},
		{"lower-case MAC", lower, ErrMalformed},
		{"short MAC", good[:len(good)-1], ErrMalformed},
		{"extra field", good + ":X", ErrMalformed},
		{"lower site", strings.Replace(good, "GRG01", "grg01", 1), ErrMalformed},
		{"long serial", "EL1:GRG01:E1:1234567890123:1:0123456789ABCDEF", ErrMalformed},
		{"leading zero entry", "EL1:GRG01:E1:1:0123:0123456789ABCDEF", ErrMalformed},
		{"wrong prefix", "EL2" + good[3:], ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Check(c.code, now)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Check(%q) = %v, want %v", c.code, err, c.want)
			}
		})
	}
}

func TestNewSignedRejects(t *testing.T) {
	if _, err := NewSigned("GRG01", []byte("short"), 0); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewSigned("grg", testKey, 0); err == nil {
		t.Error("lower-case site accepted")
	}
	if _, err := ParseKey("abc"); err == nil {
		t.Error("odd hex accepted")
	}
	if _, err := ParseKey("00112233445566778899aabbccddee"); err == nil {
		t.Error("30 hex digits accepted")
	}
	if k, err := ParseKey(" 00112233445566778899aabbccddeeff\n"); err != nil || len(k) != 16 {
		t.Errorf("ParseKey: %v %d", err, len(k))
	}
}

func TestPattern(t *testing.T) {
	p, err := NewPattern(`(?P<serial>\d{8})(?P<entry>\d{12})`, "060102150405", dubai, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-02 12:00:00")
	tk, err := p.Check("00012345260302093000", now)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Serial != "00012345" || !tk.Entry.Equal(at("2026-03-02 09:30:00")) || tk.Signed || tk.Format != "pattern" {
		t.Fatalf("%+v", tk)
	}
	for code, want := range map[string]error{
		"0001234526030209300":  ErrMalformed, // short
		"00012345261302093000": ErrMalformed, // month 13
		"x0012345260302093000": ErrMalformed,
		"00012345260302130000": ErrFutureEntry,
	} {
		if _, err := p.Check(code, now); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", code, err, want)
		}
	}
	unix, err := NewPattern(`T(?P<serial>\d+)-(?P<entry>\d+)`, "unix", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tk, err := unix.Check("T9-1772431200", now); err != nil || tk.Entry.Unix() != 1772431200 {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := NewPattern(`(?P<serial>\d+)`, "unix", nil, 0); err == nil {
		t.Error("pattern without entry group accepted")
	}
	if _, err := NewPattern(`(`, "unix", nil, 0); err == nil {
		t.Error("bad regexp accepted")
	}
}

// EL2 codes carry the vehicle class under the MAC; EL1 codes stay valid
// and carry none.
func TestSignedClass(t *testing.T) {
	s := signer(t, "GRG01")
	entry := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	code, err := s.IssueClass("E1", 48213, entry, "motorcycle")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, "EL2:GRG01:E1:48213:1772431200:MOTORCYCLE:") || len(code) != len("EL2:GRG01:E1:48213:1772431200:MOTORCYCLE:")+16 {
		t.Fatalf("code %q", code)
	}
	tk, err := s.Check(code, entry.Add(time.Hour))
	if err != nil || tk.Class != "motorcycle" || !tk.Signed || tk.ID() != "GRG01/E1/48213/1772431200" {
		t.Fatalf("%+v %v", tk, err)
	}
	// The MAC covers the class: a bus ticket edited to say motorcycle is
	// forged.
	bus, _ := s.IssueClass("E1", 48213, entry, "bus")
	edited := strings.Replace(bus, ":BUS:", ":MOTORCYCLE:", 1)
	if _, err := s.Check(edited, entry.Add(time.Hour)); !errors.Is(err, ErrForged) {
		t.Errorf("edited class: %v", err)
	}
	// The longest EL2 code fits the length limit.
	long, err := signer(t, "ABCDEFGH").IssueClass("ABCDEFGH", 999_999_999_999, time.Unix(99_999_999_999, 0), "abcdefghijkl")
	if err != nil || len(long) > 80 {
		t.Fatalf("%q (%d) %v", long, len(long), err)
	}
	if _, err := signer(t, "ABCDEFGH").Check(long, time.Unix(99_999_999_999, 0)); err != nil {
		t.Errorf("longest code: %v", err)
	}
	// An empty class issues EL1, as before.
	if el1, _ := s.IssueClass("E1", 48213, entry, ""); !strings.HasPrefix(el1, "EL1:") {
		t.Errorf("no class: %q", el1)
	}
	for _, bad := range []string{"Motorcycle", "bus!", "thirteenchars"} {
		if _, err := s.IssueClass("E1", 1, entry, bad); err == nil {
			t.Errorf("class %q issued", bad)
		}
	}
	mac := code[strings.LastIndexByte(code, ':')+1:]
	for _, c := range []string{
		"EL2:GRG01:E1:48213:1772431200:" + mac,               // no class field
		"EL2:GRG01:E1:48213:1772431200::" + mac,              // empty class
		"EL2:GRG01:E1:48213:1772431200:motorcycle:" + mac,    // lower case
		"EL2:GRG01:E1:48213:1772431200:THIRTEENCHARS:" + mac, // too long
		"EL1:GRG01:E1:48213:1772431200:MOTORCYCLE:" + mac,    // EL1 with a class
		"EL3:GRG01:E1:48213:1772431200:MOTORCYCLE:" + mac,    // unknown version
	} {
		if _, err := s.Check(c, entry.Add(time.Hour)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", c, err)
		}
	}
}

// A pattern's optional class group gives the class, in lower case.
func TestPatternClass(t *testing.T) {
	p, err := NewPattern(`(?P<class>[A-Z]+)-(?P<serial>\d{8})(?P<entry>\d{12})`, "060102150405", dubai, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-02 12:00:00")
	tk, err := p.Check("BUS-00012345260302093000", now)
	if err != nil || tk.Class != "bus" {
		t.Fatalf("%+v %v", tk, err)
	}
	if _, err := p.Check("ABCDEFGHIJKLM-00012345260302093000", now); !errors.Is(err, ErrMalformed) {
		t.Errorf("13-letter class: %v", err)
	}
	opt, _ := NewPattern(`(?:(?P<class>[a-z]+)/)?(?P<serial>\d{8})(?P<entry>\d{12})`, "060102150405", dubai, 0)
	if tk, err := opt.Check("00012345260302093000", now); err != nil || tk.Class != "" {
		t.Errorf("no class: %+v %v", tk, err)
	}
}

// EL3 codes carry the class and the plate under the MAC, each may be
// empty; EL1 and EL2 codes stay valid and carry no plate.
func TestSignedPlate(t *testing.T) {
	s := signer(t, "GRG01")
	entry := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	code, err := s.IssuePlate("E1", 48213, entry, "bus", "dxb a-12345")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, "EL3:GRG01:E1:48213:1772431200:BUS:DXBA12345:") || len(code) != len("EL3:GRG01:E1:48213:1772431200:BUS:DXBA12345:")+16 {
		t.Fatalf("code %q", code)
	}
	tk, err := s.Check(code, entry.Add(time.Hour))
	if err != nil || tk.Class != "bus" || tk.Plate != "DXBA12345" || !tk.Signed || tk.ID() != "GRG01/E1/48213/1772431200" {
		t.Fatalf("%+v %v", tk, err)
	}
	// The MAC covers the plate.
	edited := strings.Replace(code, ":DXBA12345:", ":DXBA12346:", 1)
	if _, err := s.Check(edited, entry.Add(time.Hour)); !errors.Is(err, ErrForged) {
		t.Errorf("edited plate: %v", err)
	}
	// Class and plate may each be empty.
	for _, c := range []struct{ class, plate, prefix string }{
		{"", "S12", "EL3:GRG01:E1:48213:1772431200::S12:"},
		{"", "", "EL3:GRG01:E1:48213:1772431200:::"},
		{"car", "", "EL3:GRG01:E1:48213:1772431200:CAR::"},
	} {
		code, err := s.IssueEL3("E1", 48213, entry, c.class, c.plate)
		if err != nil || !strings.HasPrefix(code, c.prefix) {
			t.Fatalf("%+v: %q %v", c, code, err)
		}
		tk, err := s.Check(code, entry.Add(time.Hour))
		if err != nil || tk.Class != c.class || tk.Plate != c.plate {
			t.Errorf("%q: %+v %v", code, tk, err)
		}
	}
	// No plate: IssuePlate gives the EL2 (or EL1) code, as before.
	if el2, _ := s.IssuePlate("E1", 48213, entry, "bus", ""); !strings.HasPrefix(el2, "EL2:") {
		t.Errorf("no plate: %q", el2)
	}
	// The longest EL3 code fits the length limit.
	long, err := signer(t, "ABCDEFGH").IssuePlate("ABCDEFGH", 999_999_999_999, time.Unix(99_999_999_999, 0), "abcdefghijkl", "ABCDEFGHIJKL")
	if err != nil || len(long) > 96 {
		t.Fatalf("%q (%d) %v", long, len(long), err)
	}
	if _, err := signer(t, "ABCDEFGH").Check(long, time.Unix(99_999_999_999, 0)); err != nil {
		t.Errorf("longest code: %v", err)
	}
	for _, bad := range []string{"ABCDEFGHIJKLM", "DXB/1", "دبي"} {
		if _, err := s.IssuePlate("E1", 1, entry, "", bad); err == nil {
			t.Errorf("plate %q issued", bad)
		}
	}
	mac := code[strings.LastIndexByte(code, ':')+1:]
	for _, c := range []string{
		"EL3:GRG01:E1:48213:1772431200:BUS:" + mac,               // no plate field
		"EL3:GRG01:E1:48213:1772431200:BUS:dxba12345:" + mac,     // lower case
		"EL3:GRG01:E1:48213:1772431200:BUS:DXB A12345:" + mac,    // a space
		"EL3:GRG01:E1:48213:1772431200:BUS:ABCDEFGHIJKLM:" + mac, // too long
		"EL3:GRG01:E1:48213:1772431200:BUS:DXBA12345:X:" + mac,   // a field too many
		"EL2:GRG01:E1:48213:1772431200:BUS:DXBA12345:" + mac,     // EL2 with a plate
		"EL4:GRG01:E1:48213:1772431200:BUS:DXBA12345:" + mac,     // unknown version
	} {
		if _, err := s.Check(c, entry.Add(time.Hour)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", c, err)
		}
	}
}

// A pattern's optional plate group gives the plate, normalised.
func TestPatternPlate(t *testing.T) {
	p, err := NewPattern(`(?P<serial>\d{8})(?P<entry>\d{12})(?:/(?P<plate>[A-Za-z0-9 -]+))?`, "060102150405", dubai, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := at("2026-03-02 12:00:00")
	tk, err := p.Check("00012345260302093000/dxb A-12345", now)
	if err != nil || tk.Plate != "DXBA12345" {
		t.Fatalf("%+v %v", tk, err)
	}
	if tk, err := p.Check("00012345260302093000", now); err != nil || tk.Plate != "" {
		t.Errorf("no plate: %+v %v", tk, err)
	}
	if _, err := p.Check("00012345260302093000/ABCDEFGHIJKLM", now); !errors.Is(err, ErrMalformed) {
		t.Errorf("13-character plate: %v", err)
	}
}

func FuzzSignedCheck(f *testing.F) {
	s := signer(f, "GRG01")
	good, _ := s.Issue("E1", 48213, time.Unix(1772431200, 0))
	classed, _ := s.IssueClass("E1", 48213, time.Unix(1772431200, 0), "motorcycle")
	plated, _ := s.IssuePlate("E1", 48213, time.Unix(1772431200, 0), "bus", "DXB A 12345")
	bare, _ := s.IssueEL3("E1", 48213, time.Unix(1772431200, 0), "", "")
	for _, seed := range []string{good, classed, plated, bare, "EL3:::::::", "EL1:::::", "EL2::::::", "EL1:A:B:1:1:0123456789ABCDEF", good + "\r", strings.ToLower(good)} {
		f.Add(seed)
	}
	now := time.Unix(1772431200+3600, 0)
	f.Fuzz(func(t *testing.T, code string) {
		tk, err := s.Check(code, now)
		if err == nil {
			// Anything accepted must re-issue to exactly the same code.
			var serial uint64
			for _, c := range tk.Serial {
				serial = serial*10 + uint64(c-'0')
			}
			again, ierr := s.IssueClass(tk.Lane, serial, tk.Entry, tk.Class)
			if strings.HasPrefix(code, "EL3:") {
				again, ierr = s.IssueEL3(tk.Lane, serial, tk.Entry, tk.Class, tk.Plate)
			}
			if ierr != nil || (again != code && strings.TrimLeft(tk.Serial, "0") == tk.Serial) {
				t.Fatalf("accepted %q but re-issue gives %q (%v)", code, again, ierr)
			}
			if !tk.Signed {
				t.Fatalf("accepted unsigned")
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrForged) && !errors.Is(err, ErrOtherSite) && !errors.Is(err, ErrFutureEntry) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

func FuzzPatternCheck(f *testing.F) {
	p, err := NewPattern(`(?P<serial>\d{8})(?P<entry>\d{12})(?:/(?P<plate>[A-Za-z0-9 -]*))?`, "060102150405", dubai, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("00012345260302093000")
	f.Add("00012345260302093000/DXB A-12345")
	f.Add("00012345260302093000/ - ")
	f.Add("")
	f.Add("99999999999999999999")
	now := at("2026-03-02 12:00:00")
	f.Fuzz(func(t *testing.T, code string) {
		tk, err := p.Check(code, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFutureEntry) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if tk.Serial == "" || tk.Entry.After(now.Add(DefaultTolerance)) {
			t.Fatalf("bad ticket %+v", tk)
		}
		if p, ok := NormPlate(tk.Plate); tk.Plate != "" && (!ok || p != tk.Plate) {
			t.Fatalf("plate %q not normalised", tk.Plate)
		}
	})
}
