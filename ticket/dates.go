package ticket

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Date is a calendar day with no zone: a holiday, the first day of a
// tariff change. It becomes instants only in the site's zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q: write a date like \"2026-07-01\"", s)
	}
	return DateOf(t), nil
}

// DateOf is the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date (no date given).
func (d Date) IsZero() bool { return d == Date{} }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText writes "2006-01-02".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "2006-01-02".
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalTOML reads a date written as a string ("2026-07-01") or as a
// TOML local date (2026-07-01).
func (d *Date) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return d.UnmarshalText([]byte(v))
	case time.Time:
		if v.Hour() != 0 || v.Minute() != 0 || v.Second() != 0 || v.Nanosecond() != 0 {
			return fmt.Errorf("date %s: write a date without a time, like \"2026-07-01\"", v.Format(time.RFC3339))
		}
		*d = DateOf(v)
		return nil
	}
	return fmt.Errorf("date %v: write a date like \"2026-07-01\"", v)
}

// number is the day's number counted from 1970-01-01 (day 0), in the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil).
func (d Date) number() int64 {
	y, m := int64(d.Year), int64(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateFromNumber is number's inverse (civil_from_days).
func dateFromNumber(z int64) Date {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{int(y), time.Month(m), int(day)}
}

// weekday of day number n (1970-01-01 was a Thursday).
func weekdayOf(n int64) time.Weekday {
	w := (n + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

// valid reports whether d names a real day.
func (d Date) valid() bool {
	return d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && dateFromNumber(d.number()) == d
}

// At is the start of day d in loc (midnight, or the first instant after
// it when a DST change skips midnight).
func (d Date) At(loc *time.Location) time.Time { return d.at(0, loc) }

// at is the instant of clock c on day d in loc. A wall time that does
// not exist (skipped by a DST change) is read as time.Date reads it.
func (d Date) at(c Clock, loc *time.Location) time.Time {
	s := int(c)
	return time.Date(d.Year, d.Month, d.Day, s/3600, s/60%60, s%60, 0, loc)
}

// Clock is a time of day, in seconds after midnight: a band's start,
// written "06:00" or "06:00:30".
type Clock int32

// ParseClock reads "15:04" or "15:04:05", from 00:00 to 23:59:59.
func ParseClock(s string) (Clock, error) {
	bad := fmt.Errorf("time of day %q: write it like \"06:00\" (00:00 to 23:59)", s)
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	var v [3]int
	for i, p := range parts {
		if len(p) != 2 {
			return 0, bad
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, bad
		}
		v[i] = n
	}
	if v[0] > 23 || v[1] > 59 || v[2] > 59 {
		return 0, bad
	}
	return Clock(v[0]*3600 + v[1]*60 + v[2]), nil
}

func (c Clock) String() string {
	s := int(c)
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, s/60%60)
}

// MarshalText writes "06:00".
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "06:00".
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// UnmarshalTOML reads a time of day written as a string ("06:00") or as a
// TOML local time (06:00:00).
func (c *Clock) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return c.UnmarshalText([]byte(v))
	case time.Time:
		if v.Nanosecond() != 0 {
			return fmt.Errorf("time of day %s: whole seconds only", v.Format("15:04:05.999999999"))
		}
		*c = Clock(v.Hour()*3600 + v.Minute()*60 + v.Second())
		return nil
	}
	return fmt.Errorf("time of day %v: write it like \"06:00\"", v)
}

// Holiday is a date, or a range of dates, priced by a named day type (the
// table of that name) instead of the table of its weekday.
type Holiday struct {
	Date Date `toml:"date"`
	// Until is the last day of a range, inclusive; zero: Date alone.
	Until Date   `toml:"until"`
	Name  string `toml:"name"`
	// DayType names the table that prices these days.
	DayType string `toml:"day_type"`
}

// last is the holiday's last day.
func (h Holiday) last() Date {
	if h.Until.IsZero() {
		return h.Date
	}
	return h.Until
}

// Percent is a rate in hundredths of a percent: 500 is 5 %. A config file
// writes it as a whole number (5) or a decimal string ("7.7", "5.00").
type Percent int64

// ParsePercent reads "5", "7.7" or "5.00" (at most two decimals).
func ParsePercent(s string) (Percent, error) {
	f, err := money.Parse(s) // the same exact two-decimal reading as amounts
	if err != nil {
		return 0, fmt.Errorf("percent %q: write it like 5 or \"7.7\" (at most two decimals)", s)
	}
	return Percent(f), nil
}

func (p Percent) String() string {
	s := money.Fils(p).Decimal()
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
	return s + "%"
}

// MarshalText writes "5.00".
func (p Percent) MarshalText() ([]byte, error) { return []byte(money.Fils(p).Decimal()), nil }

// UnmarshalText reads "5" or "7.7".
func (p *Percent) UnmarshalText(b []byte) error {
	v, err := ParsePercent(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// UnmarshalTOML takes a whole number (vat_percent = 5) or a decimal
// string (vat_percent = "7.7"); a TOML float is refused, as floats never
// carry money.
func (p *Percent) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 || v > 1000 {
			return fmt.Errorf("percent %d is out of range", v)
		}
		*p = Percent(v * 100)
		return nil
	case string:
		return p.UnmarshalText([]byte(v))
	case float64:
		return fmt.Errorf("percent %v: write a fraction as a string, like \"7.7\"", v)
	}
	return fmt.Errorf("percent %v: write it like 5 or \"7.7\"", v)
}

// VATPart is the VAT included in a VAT-inclusive amount at rate:
// gross × rate / (100 % + rate), rounded to the nearest fils, halves up
// (away from zero for a negative amount). The net is gross minus it. It
// is money.VATPart, the lane's one VAT rounding, which the ledger also
// applies to each payment.
func VATPart(gross money.Fils, rate Percent) money.Fils {
	return money.VATPart(gross, int64(rate))
}
