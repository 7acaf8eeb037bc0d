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

func FuzzSignedCheck(f *testing.F) {
	s := signer(f, "GRG01")
	good, _ := s.Issue("E1", 48213, time.Unix(1772431200, 0))
	for _, seed := range []string{good, "", "EL1:::::", "EL1:A:B:1:1:0123456789ABCDEF", good + "\r", strings.ToLower(good)} {
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
			again, ierr := s.Issue(tk.Lane, serial, tk.Entry)
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
	p, err := NewPattern(`(?P<serial>\d{8})(?P<entry>\d{12})`, "060102150405", dubai, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("00012345260302093000")
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
	})
}
