package ticket

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/exitlane/exitlane/money"
)

var berlin = mustLoc("Europe/Berlin")

// loadTariffIn is loadTariff in the zone loc.
func loadTariffIn(t testing.TB, name string, loc *time.Location) *Tariff {
	t.Helper()
	tr := loadTariff(t, name)
	tr.Location = loc
	return tr
}

// parseTariff reads a [tariff] section from src and validates it in loc.
func parseTariff(t testing.TB, src string, loc *time.Location) *Tariff {
	t.Helper()
	tr, errs := decodeTariff(src, loc)
	if len(errs) > 0 {
		t.Fatalf("tariff: %v", errors.Join(errs...))
	}
	return tr
}

func decodeTariff(src string, loc *time.Location) (*Tariff, []error) {
	var file struct {
		Tariff Tariff `toml:"tariff"`
	}
	md, err := toml.Decode(src, &file)
	if err != nil {
		return nil, []error{err}
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, []error{errors.New("unknown keys")}
	}
	file.Tariff.Location = loc
	return &file.Tariff, file.Tariff.Validate("tariff")
}

func atIn(loc *time.Location, s string) time.Time {
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		panic(err)
	}
	return tm
}

type feeCase struct {
	id          string
	entry, exit string
	want        money.Fils
}

func runCases(t *testing.T, tr *Tariff, cases []feeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			q := mustQuote(t, tr, Stay{Entry: atIn(tr.loc(), c.entry), Exit: atIn(tr.loc(), c.exit)})
			if q.Due != c.want || q.Fee != c.want {
				t.Errorf("due %s fee %s, want %s\n%s", q.Due, q.Fee, c.want, strings.Join(q.Steps, "\n"))
			}
		})
	}
}

// Dubai Marina Mall: 3 h free from entry, then AED 20 per started hour
// that starts 06:00-18:00 Sunday to Thursday; weekends and holidays free.
// 2026-03-01 is a Sunday; Eid runs Thursday 19 to Sunday 22 March.
func TestMarinaMall(t *testing.T) {
	tr := loadTariff(t, "marina-mall")
	runCases(t, tr, []feeCase{
		{"3h free", "2026-03-01 10:00:00", "2026-03-01 13:00:00", 0},
		{"3h00m01s", "2026-03-01 10:00:00", "2026-03-01 13:00:01", money.AED(20)},
		{"4h30m", "2026-03-01 10:00:00", "2026-03-01 14:30:00", money.AED(40)},
		// Free until 07:00; 07:00-08:00 is charged (before 06:00 is
		// Saturday's free band).
		{"early", "2026-03-01 04:00:00", "2026-03-01 08:00:00", money.AED(20)},
		{"free hours end at 18:00", "2026-03-01 15:00:00", "2026-03-01 18:00:00", 0},
		{"one second before 18:00", "2026-03-01 14:59:59", "2026-03-01 18:00:00", money.AED(20)},
		// The hour started at 17:30 is charged in full and covers 18:30.
		{"hour across 18:00", "2026-03-01 14:30:00", "2026-03-01 18:30:00", money.AED(20)},
		{"evening", "2026-03-01 16:00:00", "2026-03-01 20:00:00", 0},
		// Thursday 15-18 (3 h), then the evening and Friday are free.
		{"thu to fri", "2026-03-05 12:00:00", "2026-03-06 12:00:00", money.AED(60)},
		{"holiday", "2026-03-19 10:00:00", "2026-03-19 16:00:00", 0},
		// Wednesday 15-18 charged; Thursday is Eid (free from midnight).
		{"into a holiday", "2026-03-18 12:00:00", "2026-03-19 12:00:00", money.AED(60)},
		// Eid Sunday is free until Monday's charged band at 06:00.
		{"out of a holiday", "2026-03-22 10:00:00", "2026-03-23 08:00:00", money.AED(40)},
		// Sunday 13-18 (100), Monday 06-18 (240), Tuesday 06-10 (80).
		{"two days", "2026-03-01 10:00:00", "2026-03-03 10:00:00", money.AED(420)},
		// 30 days: Sunday 100, 19 full charged days at 240 (Eid and the
		// weekends free), Tuesday 31 06-10 80.
		{"30 days", "2026-03-01 10:00:00", "2026-03-31 10:00:00", money.AED(100 + 19*240 + 80)},
	})
	cinema, _ := tr.Validation("CINEMA")
	e := atIn(dubai, "2026-03-01 10:00:00")
	q := mustQuote(t, tr, Stay{Entry: e, Exit: e.Add(5*time.Hour + 30*time.Minute), Validation: cinema.Validation})
	if q.Due != money.AED(20) { // priced from 15:00: 30 min
		t.Errorf("cinema: %s\n%s", q.Due, strings.Join(q.Steps, "\n"))
	}
	// VAT: 5 % of AED 40 included is 4000×5/105 = 190.48 fils: 190.
	q = mustQuote(t, tr, Stay{Entry: e, Exit: e.Add(4*time.Hour + 30*time.Minute)})
	if q.VATRate != 500 || q.VAT != 190 || q.Net != 3810 {
		t.Errorf("VAT of %s: rate %v vat %d net %d", q.Due, q.VATRate, q.VAT, q.Net)
	}
	if q := mustQuote(t, tr, Stay{Entry: atIn(dubai, "2026-03-19 10:00:00"), Exit: atIn(dubai, "2026-03-19 16:00:00")}); q.Holiday != "Eid al-Fitr" || q.Days[0].Holiday != "Eid al-Fitr" {
		t.Errorf("holiday %q, day %+v", q.Holiday, q.Days)
	}
	if q.Lost || q.Free != "" || len(q.Days) != 1 || q.Days[0].Pieces[0].Band != "charged" || q.Days[0].Pieces[0].Increments != 2 {
		t.Errorf("days %+v", q.Days)
	}
}

// Al Wahda with the overnight rate: each day from 06:00 by the ladder, AED
// 350 for a stay over the whole of 02:00-06:00, a day that starts with an
// overnight capped at AED 350. 2026-03-02 is a Monday.
func TestAlWahdaOvernight(t *testing.T) {
	tr := loadTariff(t, "al-wahda-overnight")
	runCases(t, tr, []feeCase{
		{"3h", "2026-03-02 10:00:00", "2026-03-02 13:00:00", 0},
		{"3h00m01s", "2026-03-02 10:00:00", "2026-03-02 13:00:01", money.AED(10)},
		{"4h30m", "2026-03-02 10:00:00", "2026-03-02 14:30:00", money.AED(20)},
		{"6h", "2026-03-02 10:00:00", "2026-03-02 16:00:00", money.AED(30)},
		{"6h10m", "2026-03-02 10:00:00", "2026-03-02 16:10:00", money.AED(50)},
		{"7h30m", "2026-03-02 10:00:00", "2026-03-02 17:30:00", money.AED(100)},
		{"9h", "2026-03-02 10:00:00", "2026-03-02 19:00:00", money.AED(150)},
		{"late, left before 02:00", "2026-03-02 18:00:00", "2026-03-03 01:30:00", money.AED(100)},
		{"left during the night", "2026-03-02 18:00:00", "2026-03-03 02:30:00", money.AED(100)},
		// Monday 20-02 (6 h: 30); Tuesday: overnight 350 + 06-10 (10), at most 350.
		{"overnight", "2026-03-02 20:00:00", "2026-03-03 10:00:00", money.AED(30 + 350)},
		{"whole band, edges inclusive", "2026-03-03 02:00:00", "2026-03-03 06:00:00", money.AED(350)},
		{"not the whole band", "2026-03-03 02:00:01", "2026-03-03 06:00:00", 0},
		// Sunday's day band to 02:00 (1 h: free), Monday's overnight.
		{"arrived at 01:00", "2026-03-02 01:00:00", "2026-03-02 07:00:00", money.AED(350)},
	})
	e := atIn(dubai, "2026-03-02 10:00:00")
	if q := mustQuote(t, tr, Stay{Entry: e, Exit: e, Lost: true}); q.Due != money.AED(150) {
		t.Errorf("lost: %s", q.Due)
	}
}

// The European tariff in Europe/Berlin: bands at 08:00 and 20:00, a night
// flat rate, a daily maximum per calendar day, Sunday prices on holidays.
func TestEuropeNight(t *testing.T) {
	tr := loadTariffIn(t, "europe-night", berlin)
	runCases(t, tr, []feeCase{
		{"1h", "2026-03-02 09:00:00", "2026-03-02 10:00:00", money.AED(4)},
		{"1h00m01s", "2026-03-02 09:00:00", "2026-03-02 10:00:01", money.AED(6)},
		{"3h45m", "2026-03-02 09:00:00", "2026-03-02 12:45:00", money.AED(4 + 6*2)},
		{"evening and night", "2026-03-02 18:00:00", "2026-03-02 22:00:00", money.AED(8 + 5)},
		// The first hour started at 19:45 covers 20:45: no night rate.
		{"first hour covers the night's start", "2026-03-02 19:45:00", "2026-03-02 20:10:00", money.AED(4)},
		{"night after the covered part", "2026-03-02 19:45:00", "2026-03-02 21:00:00", money.AED(4 + 5)},
		{"covered to the second", "2026-03-02 19:30:00", "2026-03-02 20:30:00", money.AED(4)},
		{"one second past", "2026-03-02 19:30:00", "2026-03-02 20:30:01", money.AED(4 + 5)},
		// 07:00-08:00 is Sunday's night (a Sunday band); then Monday 08-09.
		{"morning after sunday", "2026-03-02 07:00:00", "2026-03-02 09:00:00", money.AED(5 + 4)},
		{"exactly 24h", "2026-03-02 08:00:00", "2026-03-03 08:00:00", money.AED(30)},
		{"two days", "2026-03-02 10:00:00", "2026-03-04 10:00:00", money.AED(30 + 30 + 8)},
		{"holiday on a saturday", "2026-10-03 10:00:00", "2026-10-03 14:00:00", money.AED(8)},
		{"saturday, no holiday", "2026-10-10 10:00:00", "2026-10-10 14:00:00", money.AED(16)},
		// Thursday 18-20 + night (13), Christmas Day capped at 15, Boxing
		// Day 08-10 (4).
		{"christmas", "2026-12-24 18:00:00", "2026-12-26 10:00:00", money.AED(13 + 15 + 4)},
		// Spring forward: Saturday's night runs 11 h, still one flat rate.
		{"dst spring", "2026-03-28 19:00:00", "2026-03-29 09:00:00", money.AED(4 + 5 + 2)},
	})
	// A lost ticket pays the last 24 h, at least AED 30: Sunday 12:00 to
	// Monday 12:00 is 15 (capped) + 16.
	exit := atIn(berlin, "2026-03-02 12:00:00")
	if q := mustQuote(t, tr, Stay{Entry: exit, Exit: exit, Lost: true}); q.Due != money.AED(31) || q.LostRule != LostDay {
		t.Errorf("lost at noon: %s\n%s", q.Due, strings.Join(q.Steps, "\n"))
	}
	exit = atIn(berlin, "2026-03-02 09:00:00")
	if q := mustQuote(t, tr, Stay{Entry: exit, Exit: exit, Lost: true}); q.Due != money.AED(30) {
		t.Errorf("lost at 09:00: %s\n%s", q.Due, strings.Join(q.Steps, "\n"))
	}
	// VAT 19 % of AED 13.00: 1300×19/119 = 207.56: 208 fils.
	q := mustQuote(t, tr, Stay{Entry: atIn(berlin, "2026-03-02 18:00:00"), Exit: atIn(berlin, "2026-03-02 22:00:00")})
	if q.VAT != 208 || q.Net != 1092 {
		t.Errorf("VAT %d net %d", q.VAT, q.Net)
	}
}

// Band lengths follow the wall clock through DST changes: a night band
// from 20:00 to 08:00 is 11 h in spring and 13 h in autumn, a calendar
// day 23 or 25 h.
func TestBandsDST(t *testing.T) {
	night := parseTariff(t, `
[tariff]
day = "calendar"
lost_fee = "0.00"
[[tariff.tables]]
bands = [
  { from = "08:00", rule = "free" },
  { from = "20:00", rule = "increments", increment = "1h", increment_price = "1.00" },
]
`, berlin)
	runCases(t, night, []feeCase{
		{"spring night 11h", "2026-03-28 20:00:00", "2026-03-29 08:00:00", money.AED(11)},
		{"autumn night 13h", "2026-10-24 20:00:00", "2026-10-25 08:00:00", money.AED(13)},
		{"ordinary night 12h", "2026-03-21 20:00:00", "2026-03-22 08:00:00", money.AED(12)},
	})
	days := parseTariff(t, `
[tariff]
day = "calendar"
lost_fee = "0.00"
[[tariff.tables]]
first_period = "1h"
first_price = "1.00"
increment = "1h"
increment_price = "1.00"
daily_max = "100.00"
`, berlin)
	runCases(t, days, []feeCase{
		// Saturday 12-24 (12), Sunday 29 March 00-12 is 11 h.
		{"23h day", "2026-03-28 12:00:00", "2026-03-29 12:00:00", money.AED(12 + 11)},
		{"25h day", "2026-10-24 12:00:00", "2026-10-25 12:00:00", money.AED(12 + 13)},
		{"whole 23h day", "2026-03-29 00:00:00", "2026-03-30 00:00:00", money.AED(23)},
		{"whole 25h day", "2026-10-25 00:00:00", "2026-10-26 00:00:00", money.AED(25)},
	})
	// A band at a wall time the spring change skips starts where
	// time.Date puts it, and never before the band it follows.
	gap := parseTariff(t, `
[tariff]
day = "calendar"
lost_fee = "0.00"
[[tariff.tables]]
bands = [
  { from = "00:00", rule = "free" },
  { from = "02:30", rule = "increments", increment = "1h", increment_price = "1.00" },
  { from = "05:00", rule = "free" },
]
`, berlin)
	from := time.Date(2026, 3, 29, 2, 30, 0, 0, berlin)
	to := time.Date(2026, 3, 29, 5, 0, 0, 0, berlin)
	want := money.AED(int64((to.Sub(from) + time.Hour - 1) / time.Hour))
	runCases(t, gap, []feeCase{{"skipped wall time", "2026-03-28 23:00:00", "2026-03-29 07:00:00", want}})
}

// Asia/Dubai has no DST; its midnight is 20:00 UTC. A calendar day there
// is not a UTC day.
func TestMidnightInZone(t *testing.T) {
	src := `
[tariff]
day = "calendar"
lost_fee = "0.00"
[[tariff.tables]]
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "10.00"
daily_max = "100.00"
`
	// 23:30 to 01:00 in Dubai: two calendar days, each at most AED 10; in
	// UTC (19:30 to 21:00) one day, AED 20 capped at 10.
	src = strings.Replace(src, `daily_max = "100.00"`, `daily_max = "10.00"`, 1)
	entry := time.Date(2026, 3, 2, 19, 30, 0, 0, time.UTC)
	exit := entry.Add(90 * time.Minute)
	for _, c := range []struct {
		loc  *time.Location
		want money.Fils
	}{{dubai, money.AED(20)}, {time.UTC, money.AED(10)}} {
		tr := parseTariff(t, src, c.loc)
		q := mustQuote(t, tr, Stay{Entry: entry, Exit: exit})
		if q.Due != c.want {
			t.Errorf("%s: %s, want %s\n%s", c.loc, q.Due, c.want, strings.Join(q.Steps, "\n"))
		}
	}
	tr := parseTariff(t, src, dubai)
	runCases(t, tr, []feeCase{
		{"max per day", "2026-03-02 22:00:00", "2026-03-03 02:00:00", money.AED(20)},
		{"max within a day", "2026-03-02 10:00:00", "2026-03-02 14:00:00", money.AED(10)},
		// The first hour started at 23:30 covers 00:30 on the next day.
		{"carried over midnight", "2026-03-02 23:30:00", "2026-03-03 00:30:00", money.AED(10)},
	})
}

// band_crossing = "split": each band prices only its own time.
func TestBandCrossingSplit(t *testing.T) {
	src, err := readFixture("europe-night")
	if err != nil {
		t.Fatal(err)
	}
	split := parseTariff(t, strings.Replace(src, `lost = "day"`, "lost = \"day\"\nband_crossing = \"split\"", 1), berlin)
	runCases(t, split, []feeCase{
		{"first hour cut at 20:00", "2026-03-02 19:45:00", "2026-03-02 20:10:00", money.AED(4 + 5)},
		{"within the day band", "2026-03-02 09:00:00", "2026-03-02 10:00:01", money.AED(6)},
	})
}

// In 24 h blocks the entry's date picks the table, a holiday's day type
// before its weekday's.
func TestHolidayBlocks(t *testing.T) {
	src, err := readFixture("dubai-mall")
	if err != nil {
		t.Fatal(err)
	}
	tr := parseTariff(t, src+`
[[tariff.holidays]]
date = 2024-07-01
name = "an example holiday"
day_type = "weekend"
`, dubai)
	runCases(t, tr, []feeCase{
		// Monday 1 July 2024 is a holiday: weekend prices (6 h free).
		{"holiday monday", "2024-07-01 10:00:00", "2024-07-01 15:45:00", 0},
		{"tuesday after", "2024-07-02 10:00:00", "2024-07-02 15:45:00", money.AED(60)},
		// Entered on the holiday: its table holds for the whole stay.
		{"holiday into tuesday", "2024-07-01 22:00:00", "2024-07-02 03:59:00", 0},
	})
	q := mustQuote(t, tr, Stay{Entry: atIn(dubai, "2024-07-01 10:00:00"), Exit: atIn(dubai, "2024-07-01 18:30:00")})
	if q.Holiday != "an example holiday" || q.Table != "weekend" || !strings.Contains(q.Steps[0], "holiday an example holiday") {
		t.Errorf("holiday %q table %q steps %q", q.Holiday, q.Table, q.Steps)
	}
	if h, ok := tr.HolidayOn(Date{2024, 7, 1}); !ok || h.DayType != "weekend" {
		t.Errorf("HolidayOn: %+v %v", h, ok)
	}
	if _, ok := tr.HolidayOn(Date{2024, 7, 2}); ok {
		t.Error("HolidayOn 2 July")
	}
}

func readFixture(name string) (string, error) {
	b, err := os.ReadFile("testdata/tariffs/" + name + ".toml")
	return string(b), err
}

// Vehicle classes: each class has its own tables; a class without tables
// is priced as the default class, and says so.
func TestClasses(t *testing.T) {
	tr := parseTariff(t, `
[tariff]
lost_fee = "150.00"
[[tariff.tables]]
name = "all week"
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"
cap = "50.00"
[[tariff.tables]]
name = "all week"
class = "motorcycle"
first_period = "1h"
first_price = "5.00"
increment = "1h"
increment_price = "2.00"
cap = "20.00"
[[tariff.tables]]
name = "weekday"
class = "bus"
days = ["mon", "tue", "wed", "thu", "fri"]
slabs = [{ up_to = "24h", price = "100.00" }]
[[tariff.tables]]
name = "weekend"
class = "bus"
days = ["sat", "sun"]
slabs = [{ up_to = "24h", price = "60.00" }]
`, dubai)
	mon := atIn(dubai, "2026-03-02 10:00:00")
	sat := atIn(dubai, "2026-03-07 10:00:00")
	cases := []struct {
		class    string
		entry    time.Time
		stay     time.Duration
		want     money.Fils
		pricedAs string
	}{
		{"", mon, 3 * time.Hour, money.AED(20), "car"},
		{"car", mon, 3 * time.Hour, money.AED(20), "car"},
		{"motorcycle", mon, 3 * time.Hour, money.AED(9), "motorcycle"},
		{"MOTORCYCLE", mon, 3 * time.Hour, money.AED(9), "motorcycle"},
		{"motorcycle", mon, 30 * time.Hour, money.AED(20 + 5 + 5*2), "motorcycle"},
		{"bus", mon, 3 * time.Hour, money.AED(100), "bus"},
		{"bus", sat, 3 * time.Hour, money.AED(60), "bus"},
		{"van", mon, 3 * time.Hour, money.AED(20), "car"},
	}
	for _, c := range cases {
		q := mustQuote(t, tr, Stay{Entry: c.entry, Exit: c.entry.Add(c.stay), Class: c.class})
		if q.Due != c.want || q.PricedAs != c.pricedAs || q.Class != normClass(c.class) {
			t.Errorf("class %q %s: %s as %q, want %s as %q\n%s", c.class, c.stay, q.Due, q.PricedAs, c.want, c.pricedAs, strings.Join(q.Steps, "\n"))
		}
	}
	q := mustQuote(t, tr, Stay{Entry: mon, Exit: mon.Add(time.Hour), Class: "van"})
	if !strings.Contains(strings.Join(q.Steps, "\n"), "class van has no prices of its own: priced as car") {
		t.Errorf("van: %q", q.Steps)
	}
	if got := strings.Join(tr.Classes(), ","); got != "car,motorcycle,bus" {
		t.Errorf("Classes: %s", got)
	}
	// The same stay changes price with the class only: a class change by
	// the attendant reprices it.
	a := mustQuote(t, tr, Stay{Entry: mon, Exit: mon.Add(2 * time.Hour), Class: "car"})
	b := mustQuote(t, tr, Stay{Entry: mon, Exit: mon.Add(2 * time.Hour), Class: "motorcycle"})
	if a.Due != money.AED(15) || b.Due != money.AED(7) {
		t.Errorf("class change: car %s motorcycle %s", a.Due, b.Due)
	}
}

// Effective dates: the price list in force at the entry prices the whole
// stay; config check shows the list in force and the next change.
func TestChanges(t *testing.T) {
	tr := parseTariff(t, `
[tariff]
lost_fee = "150.00"
[[tariff.tables]]
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"

[[tariff.changes]]
from = "2026-07-01"
lost_fee = "200.00"
[[tariff.changes.tables]]
first_period = "1h"
first_price = "12.00"
increment = "1h"
increment_price = "6.00"

[[tariff.changes]]
from = 2027-01-01
lost_fee = "200.00"
day = "calendar"
[[tariff.changes.tables]]
bands = [{ from = "00:00", rule = "flat", price = "30.00" }]
`, dubai)
	runCases(t, tr, []feeCase{
		{"before", "2026-06-30 20:00:00", "2026-06-30 23:00:00", money.AED(20)},
		{"entered before, left after", "2026-06-30 23:59:59", "2026-07-01 02:59:59", money.AED(20)},
		{"from midnight", "2026-07-01 00:00:00", "2026-07-01 03:00:00", money.AED(24)},
		{"third list", "2027-01-01 10:00:00", "2027-01-02 10:00:00", money.AED(60)},
	})
	e := atIn(dubai, "2026-07-01 00:00:00")
	q := mustQuote(t, tr, Stay{Entry: e, Exit: e, Lost: true})
	if q.Due != money.AED(200) || q.From != (Date{2026, 7, 1}) {
		t.Errorf("lost after the change: %s from %s", q.Due, q.From)
	}
	if sc, from := tr.InForce(e.Add(-time.Second)); !from.IsZero() || sc.LostFee != money.AED(150) {
		t.Errorf("in force before: %s %s", from, sc.LostFee)
	}
	if next, ok := tr.NextChange(e.Add(-time.Second)); !ok || next != (Date{2026, 7, 1}) {
		t.Errorf("next change: %s %v", next, ok)
	}
	if next, ok := tr.NextChange(e); !ok || next != (Date{2027, 1, 1}) {
		t.Errorf("next change at the first: %s %v", next, ok)
	}
	if _, ok := tr.NextChange(atIn(dubai, "2027-01-01 00:00:00")); ok {
		t.Error("a change after the last")
	}
}

// Slab sections, open slabs and weekly blocks.
func TestSlabForms(t *testing.T) {
	dm := loadTariff(t, "dubai-mall-2024")
	runCases(t, dm, []feeCase{
		{"DM-6", "2024-07-01 10:00:00", "2024-07-02 00:30:00", money.AED(500)},
		{"24h", "2024-07-01 10:00:00", "2024-07-02 10:00:00", money.AED(500)},
		{"over 24h", "2024-07-01 10:00:00", "2024-07-02 10:00:01", money.AED(1000)},
		{"30 days", "2024-07-01 10:00:00", "2024-07-31 10:00:00", money.AED(1000)},
		{"weekend 6h30m", "2024-07-06 12:00:00", "2024-07-06 18:30:00", money.AED(80)},
	})
	weekly := parseTariff(t, `
[tariff]
lost_fee = "0.00"
[[tariff.tables]]
slabs = [
  { up_to = "1h",   price = "5.00" },
  { up_to = "24h",  every = "1h", price = "2.00" },
  { up_to = "48h",  price = "60.00" },
  { up_to = "168h", price = "150.00" },
]
`, dubai)
	runCases(t, weekly, []feeCase{
		{"1h", "2026-03-02 10:00:00", "2026-03-02 11:00:00", money.AED(5)},
		{"1h00m01s", "2026-03-02 10:00:00", "2026-03-02 11:00:01", money.AED(7)},
		{"24h", "2026-03-02 10:00:00", "2026-03-03 10:00:00", money.AED(5 + 23*2)},
		{"25h", "2026-03-02 10:00:00", "2026-03-03 11:00:00", money.AED(60)},
		{"a week", "2026-03-02 10:00:00", "2026-03-09 10:00:00", money.AED(150)},
		{"a week and 2h", "2026-03-02 10:00:00", "2026-03-09 12:00:00", money.AED(150 + 7)},
		{"two weeks and a day", "2026-03-02 10:00:00", "2026-03-17 10:00:00", money.AED(150 + 150 + 51)},
	})
}

// Re-entry within the window continues the earlier stay: priced from its
// entry, less what it paid.
func TestReentry(t *testing.T) {
	tr := loadTariff(t, "dubai-mall-2024")
	mon := func(s string) time.Time { return atIn(dubai, "2024-07-01 "+s) }
	cases := []struct {
		id    string
		prev  *Visit
		entry string
		exit  string
		want  money.Fils
		cont  bool
	}{
		{"no previous visit", nil, "14:30:00", "15:30:00", 0, false},
		// 10:00 to 15:30 is 5h30m: AED 60.
		{"within 2h", &Visit{Entry: mon("10:00:00"), Exit: mon("13:00:00")}, "14:30:00", "15:30:00", money.AED(60), true},
		{"exactly 2h", &Visit{Entry: mon("10:00:00"), Exit: mon("13:00:00")}, "15:00:00", "15:30:00", money.AED(60), true},
		{"2h00m01s", &Visit{Entry: mon("10:00:00"), Exit: mon("13:00:00")}, "15:00:01", "15:30:00", 0, false},
		// 10:00 to 16:30 is 6h30m: AED 80, less the 20 paid.
		{"paid before", &Visit{Entry: mon("10:00:00"), Exit: mon("14:30:00"), Paid: money.AED(20)}, "15:00:00", "16:30:00", money.AED(60), true},
		{"exit before entry", &Visit{Entry: mon("13:00:00"), Exit: mon("10:00:00")}, "14:30:00", "15:30:00", 0, false},
	}
	for _, c := range cases {
		q := mustQuote(t, tr, Stay{Entry: mon(c.entry), Exit: mon(c.exit), Previous: c.prev})
		if q.Due != c.want || q.Continued != c.cont {
			t.Errorf("%s: due %s continued %v, want %s %v\n%s", c.id, q.Due, q.Continued, c.want, c.cont, strings.Join(q.Steps, "\n"))
		}
	}
	// The explanation names the window, the exit and the first entry.
	q := mustQuote(t, tr, Stay{Entry: mon("14:30:00"), Exit: mon("15:30:00"), Previous: &Visit{Entry: mon("10:00:00"), Exit: mon("13:00:00")}})
	if want := "re-entry within 2h of exit at 13:00: continues the stay from Mon 2024-07-01 10:00"; !strings.HasPrefix(q.Steps[0], want) {
		t.Errorf("step %q, want it to start %q", q.Steps[0], want)
	}
	// A tariff without reentry never continues.
	old := loadTariff(t, "dubai-mall")
	q = mustQuote(t, old, Stay{Entry: mon("14:30:00"), Exit: mon("15:30:00"), Previous: &Visit{Entry: mon("10:00:00"), Exit: mon("13:00:00")}})
	if q.Continued || q.Due != 0 {
		t.Errorf("no reentry window: %+v", q)
	}
}

// Lost-ticket rules: flat, the 24 h price, or the higher of the flat fee
// and the stay from a known entry.
func TestLostRules(t *testing.T) {
	src := `
[tariff]
lost_fee = "150.00"
lost = "%s"
[[tariff.tables]]
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"
cap = "50.00"
`
	exit := atIn(dubai, "2026-03-05 12:00:00")
	for _, c := range []struct {
		rule  string
		entry time.Time
		want  money.Fils
	}{
		{"flat", exit.Add(-72 * time.Hour), money.AED(150)},
		{"day", exit, money.AED(150)}, // the 24 h price is 50
		{"stay", exit, money.AED(150)},
		{"stay", exit.Add(-2 * time.Hour), money.AED(150)},
		{"stay", exit.Add(-96 * time.Hour), money.AED(200)},
	} {
		tr := parseTariff(t, strings.Replace(src, "%s", c.rule, 1), dubai)
		q := mustQuote(t, tr, Stay{Entry: c.entry, Exit: exit, Lost: true})
		if q.Due != c.want || q.LostRule != c.rule {
			t.Errorf("%s from %s: %s (%s), want %s\n%s", c.rule, c.entry, q.Due, q.LostRule, c.want, strings.Join(q.Steps, "\n"))
		}
	}
	// "stay" without a known entry says it fell back to the flat fee.
	stay := parseTariff(t, strings.Replace(src, "%s", "stay", 1), dubai)
	if q := mustQuote(t, stay, Stay{Entry: exit, Exit: exit, Lost: true}); q.Steps[0] != "lost ticket: the entry is not known: flat AED 150.00" {
		t.Errorf("stay, entry unknown: %q", q.Steps)
	}
	if q := mustQuote(t, stay, Stay{Entry: exit.Add(-96 * time.Hour), Exit: exit, Lost: true, Class: "car"}); !strings.Contains(q.Steps[0], "the stay from the known entry (AED 200.00)") {
		t.Errorf("stay, entry known: %q", q.Steps)
	}
	tr := parseTariff(t, strings.Replace(strings.Replace(src, "%s", "day", 1), `lost_fee = "150.00"`, `lost_fee = "0.00"`, 1), dubai)
	if q := mustQuote(t, tr, Stay{Entry: exit, Exit: exit, Lost: true}); q.Due != money.AED(50) {
		t.Errorf("day, no floor: %s", q.Due)
	}
}

func TestDescribeCalendar(t *testing.T) {
	eu := strings.Join(loadTariffIn(t, "europe-night", berlin).Describe(), "\n")
	for _, want := range []string{
		"Prices include VAT 19%",
		"Lost ticket: the price of the last 24 h, at least AED 30.00",
		"Priced by calendar day; a band runs until the next one starts and belongs to the day it starts on; a started increment is charged in the band where it starts",
		"weekday (mon, tue, wed, thu, fri, sat): day from 08:00: AED 4.00 for the first 1h · then AED 2.00 per started 30m; night from 20:00: flat AED 5.00; at most AED 30.00 per calendar day",
		"Holiday 2026-12-25 to 2026-12-26 (Christmas): sunday prices",
	} {
		if !strings.Contains(eu, want) {
			t.Errorf("europe: missing %q in\n%s", want, eu)
		}
	}
	aw := strings.Join(loadTariff(t, "al-wahda-overnight").Describe(), "\n")
	want := "all week: overnight from 02:00: flat AED 350.00 for a stay over the whole band; day from 06:00: up to 3h free · 3h to 6h AED 10.00 per started 1h · up to 7h AED 50.00 · up to 8h AED 100.00 · over 8h AED 150.00; at most AED 350.00 per calendar day"
	if !strings.Contains(aw, want) {
		t.Errorf("al wahda: missing %q in\n%s", want, aw)
	}
	dm := strings.Join(loadTariff(t, "dubai-mall-2024").Describe(), "\n")
	for _, want := range []string{"up to 24h AED 500.00 · over 24h AED 1000.00", "Re-entry within 2h of the exit continues the stay"} {
		if !strings.Contains(dm, want) {
			t.Errorf("dubai mall 2024: missing %q in\n%s", want, dm)
		}
	}
	if strings.Contains(dm, "over 24 h: each") {
		t.Errorf("an open slab has no blocks:\n%s", dm)
	}
}

func TestVATPart(t *testing.T) {
	for _, c := range []struct {
		gross money.Fils
		rate  Percent
		want  money.Fils
	}{
		{2000, 500, 95},   // 95.24
		{100, 500, 5},     // 4.76
		{21, 500, 1},      // exactly 1
		{10, 500, 0},      // 0.48
		{1, 10000, 1},     // 0.5: halves up
		{3, 10000, 2},     // 1.5
		{-3, 10000, -2},   // away from zero
		{1300, 1900, 208}, // 207.56
		{0, 500, 0},
		{2000, 0, 0},
		{money.Fils(1<<63 - 1), 500, money.Fils((1<<63 - 1) / 21)}, // 439208192231179800.33: no overflow
	} {
		if got := money.VATPart(c.gross, int64(c.rate)); got != c.want {
			t.Errorf("VAT of %d at %s: %d, want %d", c.gross, c.rate, got, c.want)
		}
	}
}

func TestDatesAndClocks(t *testing.T) {
	// The civil day numbers agree with the time package over four
	// centuries, leap days included.
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2300; d = d.AddDate(0, 0, 1) {
		n := DateOf(d).number()
		if want := d.Unix() / 86400; n != want {
			t.Fatalf("%s: number %d, want %d", d, n, want)
		}
		if back := dateFromNumber(n); back != DateOf(d) || weekdayOf(n) != d.Weekday() {
			t.Fatalf("%s: back %s, weekday %s", d, back, weekdayOf(n))
		}
	}
	for _, s := range []string{"2026-02-30", "2026-13-01", "26-01-01", ""} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("date %q accepted", s)
		}
	}
	for s, want := range map[string]Clock{"00:00": 0, "06:00": 21600, "23:59:59": 86399, "18:30": 66600} {
		if c, err := ParseClock(s); err != nil || c != want {
			t.Errorf("clock %q: %d %v", s, c, err)
		}
	}
	for _, s := range []string{"24:00", "6:00", "06:60", "06", "06:00:00:00", "-1:00"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("clock %q accepted", s)
		}
	}
	for s, want := range map[string]Percent{"5": 500, "7.7": 770, "19.00": 1900, "0": 0} {
		if p, err := ParsePercent(s); err != nil || p != want {
			t.Errorf("percent %q: %d %v", s, p, err)
		}
	}
	if s := Percent(770).String(); s != "7.7%" {
		t.Errorf("7.7%%: %s", s)
	}
	var f struct {
		P Percent `toml:"p"`
	}
	if _, err := toml.Decode("p = 5.5", &f); err == nil || !strings.Contains(err.Error(), `write a fraction as a string`) {
		t.Errorf("float percent: %v", err)
	}
}

// Every new key is checked, each problem naming its key.
func TestValidateCalendar(t *testing.T) {
	cases := []struct {
		src  string
		want string
	}{
		{"day = \"weekly\"\n[[tariff.tables]]\nfirst_period = \"1h\"", `tariff.day: "weekly" is not`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\nbands = [{ from = \"06:00\", rule = \"free\" }]", `tariff.tables[0].bands: bands need day = "calendar"`},
		{"free_first = \"3h\"\n[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.free_first: needs day = "calendar"`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\ndaily_max = \"10.00\"", `tariff.tables[0].daily_max: needs day = "calendar"`},
		{"day = \"calendar\"\n[[tariff.tables]]\nbands = [{ from = \"06:00\" }]", `tariff.tables[0].bands[0].rule: missing`},
		{"day = \"calendar\"\n[[tariff.tables]]\nbands = [{ from = \"18:00\", rule = \"free\" }, { from = \"06:00\", rule = \"free\" }]", `bands[1].from: 06:00 must be later than the band before (18:00)`},
		{"day = \"calendar\"\n[[tariff.tables]]\nbands = [{ from = \"18:00\", rule = \"flat\", price = \"5.00\", increment = \"1h\" }]", `bands[0].increment: is not used by rule "flat"`},
		{"day = \"calendar\"\n[[tariff.tables]]\nbands = [{ from = \"18:00\", rule = \"increments\" }]", `bands[0].increment: must be positive`},
		{"day = \"calendar\"\n[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\nafter_24h = \"per_day\"\nextra_day = \"5.00\"", `after_24h and extra_day are for 24 h blocks`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"1h\", price = \"5.00\" }, { over = \"1h\", price = \"9.00\" }, { up_to = \"24h\", price = \"9.00\" }]", `slabs[1].over: only the last slab may be open`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"1h\", price = \"5.00\" }, { over = \"2h\", price = \"9.00\" }]", `slabs[1].over: 2h must be the up_to of the slab before (1h)`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"1h\", price = \"5.00\" }, { over = \"1h\", price = \"9.00\" }]\nafter_24h = \"per_day\"\nextra_day = \"1.00\"", `no stay is longer than an open slab`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"1h\", price = \"5.00\" }, { up_to = \"3h\", every = \"1h\", price = \"2.00\" }, { up_to = \"24h\", price = \"8.00\" }]", `slabs[2].price: AED 8.00 is less than the slab before (AED 9.00)`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"1h\", price = \"5.00\" }, { up_to = \"12h\", price = \"9.00\" }]", `the last slab must reach "24h" (it is 12h)`},
		{"[[tariff.tables]]\nslabs = [{ up_to = \"9000h\", price = \"5.00\" }]", `slabs[0].up_to: 9000h is longer than 8784h`},
		{"vat_percent = 120\n[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.vat_percent: 120% is not between 0 and 100`},
		{"reentry = \"25h\"\n[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.reentry: 25h is longer than 24h`},
		{"lost = \"double\"\n[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.lost: "double" is not`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.holidays]]\ndate = \"2026-03-20\"\nday_type = \"holiday\"", `tariff.tables: no table named "holiday" for holidays[0]`},
		{"[[tariff.tables]]\nname = \"h\"\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.holidays]]\ndate = \"2026-03-20\"\nuntil = \"2026-03-22\"\nday_type = \"h\"\n[[tariff.holidays]]\ndate = \"2026-03-22\"\nday_type = \"h\"", `tariff.holidays[1]: 2026-03-22 overlaps holidays[0]`},
		{"[[tariff.tables]]\nname = \"h\"\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.holidays]]\ndate = \"2026-03-20\"\nuntil = \"2026-03-19\"\nday_type = \"h\"", `tariff.holidays[0].until: 2026-03-19 is not a date on or after 2026-03-20`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.holidays]]\nname = \"x\"\nday_type = \"h\"", `tariff.holidays[0].date: missing`},
		{"[[tariff.tables]]\nclass = \"Bus!\"\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.tables[0].class: "Bus!" is not a class name`},
		{"[[tariff.tables]]\nclass = \"bus\"\nfirst_period = \"1h\"\nincrement = \"1h\"", `no table for the default class "car"`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.tables]]\nclass = \"bus\"\ndays = [\"mon\"]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.tables]]\nclass = \"bus\"\ndays = [\"tue\"]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.tables: class bus: no table for wed, thu, fri, sat, sun`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.changes]]\nlost_fee = \"1.00\"\n[[tariff.changes.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.changes[0].from: missing`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.changes]]\nfrom = \"2026-07-01\"\n[[tariff.changes.tables]]\nfirst_period = \"-1h\"\n[[tariff.changes]]\nfrom = \"2026-06-01\"\n[[tariff.changes.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"", `tariff.changes[1].from: 2026-06-01 is not after the change before (2026-07-01)`},
		{"[[tariff.tables]]\nfirst_period = \"1h\"\nincrement = \"1h\"\n[[tariff.changes]]\nfrom = \"2026-07-01\"\n[[tariff.changes.tables]]\nfirst_period = \"-1h\"", `tariff.changes[0].tables[0].first_period: must be positive`},
	}
	for _, c := range cases {
		_, errs := decodeTariff("[tariff]\nlost_fee = \"0.00\"\n"+c.src, dubai)
		joined := errors.Join(errs...)
		if joined == nil || !strings.Contains(joined.Error(), c.want) {
			t.Errorf("want %q, got %v\n(src %s)", c.want, joined, c.src)
		}
	}
}

// A stay of the longest Duration in calendar days is priced (slowly, day
// by day) without error, panic or overflow.
func TestCalendarLongestStay(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 106,751 days")
	}
	tr := loadTariffIn(t, "europe-night", berlin)
	e := atIn(berlin, "2026-03-02 10:00:00")
	q, err := tr.Quote(Stay{Entry: e, Exit: e.Add(1<<63 - 1)})
	if err != nil || q.Fee <= 0 || q.Fee > money.AED(30)*106752 {
		t.Fatalf("fee %s, %v", q.Fee, err)
	}
	if len(q.Steps) > 200_000 {
		t.Errorf("%d steps", len(q.Steps))
	}
}

// The walk's shortcuts (midnight plus 24 h, a day like the one before
// counted) give the same quote, word for word, as pricing every day band
// by band: over DST changes, holidays and day-type changes, for a year.
func TestShortcutsChangeNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		loc  *time.Location
	}{{"europe-night", berlin}, {"marina-mall", dubai}, {"al-wahda-overnight", dubai}} {
		tr := loadTariffIn(t, c.name, c.loc)
		for _, entry := range []string{"2026-01-01 00:00:00", "2026-03-27 19:45:00", "2026-10-24 07:59:59", "2026-12-23 23:30:00"} {
			for _, stay := range []time.Duration{time.Hour, 50 * time.Hour, 9*24*time.Hour + 17*time.Minute, 400*24*time.Hour + time.Second} {
				e := atIn(c.loc, entry)
				fast := mustQuote(t, tr, Stay{Entry: e, Exit: e.Add(stay)})
				shortcuts = false
				slow := mustQuote(t, tr, Stay{Entry: e, Exit: e.Add(stay)})
				shortcuts = true
				if fast.Fee != slow.Fee || fast.Increments != slow.Increments || strings.Join(fast.Steps, "\n") != strings.Join(slow.Steps, "\n") {
					t.Errorf("%s from %s for %s: %s vs %s\n%s\n---\n%s", c.name, entry, stay, fast.Fee, slow.Fee, strings.Join(fast.Steps, "\n"), strings.Join(slow.Steps, "\n"))
				}
			}
		}
	}
}

func benchQuote(b *testing.B, tr *Tariff, entry time.Time, stay time.Duration, want money.Fils) {
	s := Stay{Entry: entry, Exit: entry.Add(stay)}
	var q Quote
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, ok := threadCPU()
	n := 0
	for b.Loop() {
		q = mustQuote(b, tr, s)
		n++
	}
	if cpu1, ok1 := threadCPU(); ok && ok1 && n > 0 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(n), "cpu-ns/op")
	}
	if want >= 0 && q.Due != want {
		b.Fatalf("%s: %s, want %s", stay, q.Due, want)
	}
}

// The European tariff: two bands a day, a daily maximum, holidays, in a
// zone with DST. The 400-day stay crosses both DST changes and the
// holidays.
func BenchmarkQuoteBands3h(b *testing.B) {
	benchQuote(b, loadTariffIn(b, "europe-night", berlin), atIn(berlin, "2026-03-02 09:00:00"), 3*time.Hour, money.AED(12))
}

func BenchmarkQuoteBands30Days(b *testing.B) {
	benchQuote(b, loadTariffIn(b, "europe-night", berlin), atIn(berlin, "2026-03-02 09:00:00"), 30*24*time.Hour+3*time.Hour+17*time.Minute, -1)
}

func BenchmarkQuoteBands400Days(b *testing.B) {
	benchQuote(b, loadTariffIn(b, "europe-night", berlin), atIn(berlin, "2026-03-02 09:00:00"), 400*24*time.Hour+3*time.Hour+17*time.Minute, -1)
}

func BenchmarkQuoteMarina30Days(b *testing.B) {
	benchQuote(b, loadTariff(b, "marina-mall"), atIn(dubai, "2026-03-01 10:00:00"), 30*24*time.Hour, money.AED(100+19*240+80))
}
