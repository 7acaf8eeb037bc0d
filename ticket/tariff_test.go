package ticket

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/exitlane/exitlane/money"
)

var dubai = mustLoc("Asia/Dubai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// loadTariff reads a [tariff] section from testdata/tariffs/name.toml, the
// same files README.md shows as examples.
func loadTariff(t testing.TB, name string) *Tariff {
	t.Helper()
	var file struct {
		Tariff Tariff `toml:"tariff"`
	}
	md, err := toml.DecodeFile("testdata/tariffs/"+name+".toml", &file)
	if err != nil {
		t.Fatal(err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		t.Fatalf("%s: unknown keys %v", name, un)
	}
	file.Tariff.Location = dubai
	if errs := file.Tariff.Validate("tariff"); len(errs) > 0 {
		t.Fatalf("%s: %v", name, errors.Join(errs...))
	}
	return &file.Tariff
}

func at(s string) time.Time {
	tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, dubai)
	if err != nil {
		panic(err)
	}
	return tm
}

func TestDubaiMall(t *testing.T) {
	tr := loadTariff(t, "dubai-mall")
	mon := at("2024-07-01 10:00:00") // a Monday
	sat := at("2024-07-06 12:00:00") // a Saturday
	cases := []struct {
		id          string
		entry, exit time.Time
		want        money.Fils
	}{
		{"DM-1", mon, at("2024-07-01 13:59:00"), 0},
		{"DM-2", mon, at("2024-07-01 14:00:00"), 0},
		{"DM-2+1s", mon, at("2024-07-01 14:00:01"), money.AED(20)},
		{"DM-3", mon, at("2024-07-01 14:30:00"), money.AED(20)},
		{"DM-4", mon, at("2024-07-01 16:10:00"), money.AED(80)},
		{"DM-5", mon, at("2024-07-01 19:00:00"), money.AED(200)},
		{"DM-6", mon, at("2024-07-02 00:30:00"), money.AED(500)},
		{"DM-7", sat, at("2024-07-06 17:45:00"), 0},
		{"DM-8", sat, at("2024-07-06 18:30:00"), money.AED(80)},
		{"24h exactly", mon, at("2024-07-02 10:00:00"), money.AED(500)},
		{"over 24h", mon, at("2024-07-02 10:01:00"), money.AED(1000)},
		{"over 48h", mon, at("2024-07-03 10:00:01"), money.AED(1500)},
		// The day type is the entry's: Thursday 23:00 into Friday is weekday.
		{"thu night", at("2024-07-04 23:00:00"), at("2024-07-05 03:00:00"), 0},
		{"thu night 4h00m01s", at("2024-07-04 23:00:00"), at("2024-07-05 03:00:01"), money.AED(20)},
		// Midnight in Dubai is 20:00 UTC the day before: Friday 00:30 local is weekend.
		{"fri 00:30 local", at("2024-07-05 00:30:00"), at("2024-07-05 05:45:00"), 0},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			q := tr.Quote(Stay{Entry: c.entry, Exit: c.exit})
			if q.Due != c.want || q.Fee != c.want {
				t.Errorf("due %s fee %s, want %s\n%s", q.Due, q.Fee, c.want, strings.Join(q.Steps, "\n"))
			}
		})
	}
}

func TestGEN(t *testing.T) {
	tr := loadTariff(t, "gen")
	entry := at("2026-03-02 08:00:00")
	cinema, _ := tr.Validation("CINEMA")
	cases := []struct {
		id   string
		stay time.Duration
		lost bool
		val  Validation
		want money.Fils
	}{
		{"GEN-1", 15 * time.Minute, false, Validation{}, 0},
		{"GEN-2", 15*time.Minute + time.Second, false, Validation{}, money.AED(10)},
		{"GEN-3", 60 * time.Minute, false, Validation{}, money.AED(10)},
		{"GEN-4", 60*time.Minute + time.Second, false, Validation{}, money.AED(15)},
		{"GEN-5", 8 * time.Hour, false, Validation{}, money.AED(45)},
		{"GEN-6", 8*time.Hour + time.Minute, false, Validation{}, money.AED(50)},
		{"GEN-7", 23*time.Hour + 59*time.Minute, false, Validation{}, money.AED(50)},
		{"GEN-8", 24*time.Hour + time.Minute, false, Validation{}, money.AED(60)},
		{"GEN-9", 26*time.Hour + 30*time.Minute, false, Validation{}, money.AED(70)},
		{"GEN-10", 3*time.Hour + 10*time.Minute, false, cinema.Validation, money.AED(15)},
		{"GEN-11", 5 * time.Hour, true, Validation{}, money.AED(150)},
		{"sub-second is not billed", 15*time.Minute + 999*time.Millisecond, false, Validation{}, 0},
		{"24h exactly", 24 * time.Hour, false, Validation{}, money.AED(50)},
		{"48h exactly", 48 * time.Hour, false, Validation{}, money.AED(100)},
		{"48h01m", 48*time.Hour + time.Minute, false, Validation{}, money.AED(110)},
		{"validation longer than stay", 90 * time.Minute, false, Validation{Time: 2 * time.Hour}, 0},
		{"amount off", 3 * time.Hour, false, Validation{Amount: money.AED(5)}, money.AED(15)},
		{"amount off more than fee", 3 * time.Hour, false, Validation{Amount: money.AED(50)}, 0},
		{"percent off", 3 * time.Hour, false, Validation{Percent: 50}, money.AED(10)},
		{"percent floors in driver's favour", 60*time.Minute + time.Second, false, Validation{Percent: 33}, money.MustParse("10.05")},
		{"negative stay", -time.Hour, false, Validation{}, 0},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			q := tr.Quote(Stay{Entry: entry, Exit: entry.Add(c.stay), Lost: c.lost, Validation: c.val})
			if q.Due != c.want {
				t.Errorf("due %s, want %s\n%s", q.Due, c.want, strings.Join(q.Steps, "\n"))
			}
		})
	}
}

func TestExitGrace(t *testing.T) {
	tr := loadTariff(t, "gen") // exit grace 20m
	entry := at("2026-03-02 10:00:00")
	paidAt := at("2026-03-02 12:00:00")
	paid := tr.Quote(Stay{Entry: entry, Exit: paidAt}).Due // 2h: AED 15
	if paid != money.AED(15) {
		t.Fatalf("fee at payment %s", paid)
	}
	cases := []struct {
		exit string
		want money.Fils
		free FreeReason
	}{
		{"2026-03-02 12:19:59", 0, FreeExitGrace},
		{"2026-03-02 12:20:00", 0, FreeExitGrace},            // inclusive
		{"2026-03-02 12:21:00", money.AED(5), ""},            // 2h21m: AED 20 - 15
		{"2026-03-02 13:00:00", money.AED(5), ""},            // 3h: AED 20 - 15
		{"2026-03-03 12:00:00", money.AED(50 + 15 - 15), ""}, // 26h: 50 + 15 - 15
	}
	for _, c := range cases {
		q := tr.Quote(Stay{Entry: entry, Exit: at(c.exit), Paid: paid, LastPaid: paidAt})
		if q.Due != c.want || q.Free != c.free {
			t.Errorf("exit %s: due %s free %q, want %s %q\n%s", c.exit, q.Due, q.Free, c.want, c.free, strings.Join(q.Steps, "\n"))
		}
	}
	// Same slab: paid for the 4-5h slab at Dubai Mall, leave late in the same slab.
	dm := loadTariff(t, "dubai-mall")
	mon := at("2024-07-01 10:00:00")
	q := dm.Quote(Stay{Entry: mon, Exit: at("2024-07-01 14:50:00"), Paid: money.AED(20), LastPaid: at("2024-07-01 14:10:00")})
	if q.Due != 0 || q.Free != "" {
		t.Errorf("same slab after exit grace: due %s free %q, want 0", q.Due, q.Free)
	}
}

func TestAlWahda(t *testing.T) {
	tr := loadTariff(t, "al-wahda")
	e := at("2026-03-02 10:00:00")
	cases := []struct {
		stay time.Duration
		lost bool
		want money.Fils
	}{
		{3 * time.Hour, false, 0},
		{3*time.Hour + time.Second, false, money.AED(10)},
		{4*time.Hour + 30*time.Minute, false, money.AED(20)},
		{6 * time.Hour, false, money.AED(30)},
		{6*time.Hour + time.Minute, false, money.AED(50)},
		{7*time.Hour + 30*time.Minute, false, money.AED(100)},
		{9 * time.Hour, false, money.AED(150)},
		{30 * time.Hour, false, money.AED(500)},
		{time.Hour, true, money.AED(150)},
	}
	for _, c := range cases {
		if q := tr.Quote(Stay{Entry: e, Exit: e.Add(c.stay), Lost: c.lost}); q.Due != c.want {
			t.Errorf("%s lost=%v: %s, want %s", c.stay, c.lost, q.Due, c.want)
		}
	}
}

func TestDXB(t *testing.T) {
	a, b := loadTariff(t, "dxb-t1-a"), loadTariff(t, "dxb-t1-b")
	e := at("2026-03-02 10:00:00")
	cases := []struct {
		tr   *Tariff
		stay time.Duration
		want money.Fils
	}{
		{a, time.Minute, money.AED(5)},
		{a, 5 * time.Minute, money.AED(5)},
		{a, 5*time.Minute + time.Second, money.AED(15)},
		{a, 31 * time.Minute, money.AED(40)},
		{a, 2*time.Hour + time.Minute, money.AED(55)},
		{a, 4 * time.Hour, money.AED(65)},
		{a, 5 * time.Hour, money.AED(125)},
		{a, 24 * time.Hour, money.AED(125)},
		{a, 25 * time.Hour, money.AED(225)},
		{a, 72*time.Hour + time.Second, money.AED(425)},
		{b, 30 * time.Minute, money.AED(25)},
		{b, 3*time.Hour + 59*time.Minute, money.AED(45)},
		{b, 10 * time.Hour, money.AED(85)},
		{b, 49 * time.Hour, money.AED(85 + 75 + 75)},
	}
	for _, c := range cases {
		if q := c.tr.Quote(Stay{Entry: e, Exit: e.Add(c.stay)}); q.Due != c.want {
			t.Errorf("%s %s: %s, want %s\n%s", c.tr.Tables[0].Name, c.stay, q.Due, c.want, strings.Join(q.Steps, "\n"))
		}
	}
}

func TestTariffValidate(t *testing.T) {
	src := `
[tariff]
grace = "-1m"
[[tariff.tables]]
name = "weekday"
days = ["mon", "tue", "wed", "thu", "fri", "funday"]
slabs = [ { up_to = "2h", price = "5.00" }, { up_to = "1h", price = "1.00" } ]
first_period = "1h"
after_24h = "weekly"
[[tariff.tables]]
name = "weekend"
days = ["fri"]
first_price = "10.00"
[[tariff.validations]]
code = ""
percent = 120
`
	var file struct {
		Tariff Tariff `toml:"tariff"`
	}
	if _, err := toml.Decode(src, &file); err != nil {
		t.Fatal(err)
	}
	errs := file.Tariff.Validate("tariff")
	joined := errors.Join(errs...).Error()
	for _, want := range []string{
		"tariff.grace: must not be negative",
		`"funday" is not a day`,
		"fri is already in table weekday",
		"slabs or first_period/increment, not both",
		`after_24h: "weekly"`,
		"tables[1] (weekend).first_period: must be positive",
		"no table for sat, sun",
		"validations[0].code: is empty",
		"percent: 120 is not 0-100",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in:\n%s", want, joined)
		}
	}
}

func TestAmountsMustBeStrings(t *testing.T) {
	var file struct {
		Tariff Tariff `toml:"tariff"`
	}
	_, err := toml.Decode("[tariff]\nlost_fee = 150\n", &file)
	if err == nil || !strings.Contains(err.Error(), `write amounts as strings`) {
		t.Fatalf("bare number accepted as an amount: %v (lost_fee=%d)", err, file.Tariff.LostFee)
	}
}

// The README shows these files; keep them complete examples.
func TestExampleFilesExist(t *testing.T) {
	for _, n := range []string{"dubai-mall", "al-wahda", "dxb-t1-a", "dxb-t1-b", "gen"} {
		if _, err := os.Stat("testdata/tariffs/" + n + ".toml"); err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkQuote30Days(b *testing.B) {
	tr := loadTariff(b, "gen")
	entry := at("2026-03-02 08:00:00")
	s := Stay{Entry: entry, Exit: entry.Add(30*24*time.Hour + 3*time.Hour + 17*time.Minute)}
	var q Quote
	for b.Loop() {
		q = tr.Quote(s)
	}
	if q.Due != money.AED(30*50+25) {
		b.Fatalf("30 days: %s", q.Due)
	}
}

// The README shows every fixture as a complete example; keep them equal.
func TestReadmeShowsTariffs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dubai-mall", "al-wahda", "dxb-t1-a", "dxb-t1-b", "gen"} {
		src, err := os.ReadFile("testdata/tariffs/" + n + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```toml\n"+string(src)+"```") {
			t.Errorf("README.md does not show testdata/tariffs/%s.toml as it is", n)
		}
	}
}

func TestDescribe(t *testing.T) {
	gen := strings.Join(loadTariff(t, "gen").Describe(), "\n")
	for _, want := range []string{
		"Grace: stays up to 15m are free",
		"Exit grace after paying: 20m",
		"Lost ticket: AED 150.00",
		"all week: AED 10.00 for the first 1h · then AED 5.00 per started 1h · at most AED 50.00 per 24 h · over 24 h: each 24 h block priced again",
		"Validation CINEMA (Cinema, 2 hours): 2h off the stay",
	} {
		if !strings.Contains(gen, want) {
			t.Errorf("GEN: missing %q in\n%s", want, gen)
		}
	}
	dm := strings.Join(loadTariff(t, "dubai-mall").Describe(), "\n")
	want := "weekend (fri, sat, sun): up to 6h free · up to 7h AED 80.00 · up to 8h AED 100.00 · up to 12h AED 200.00 · up to 24h AED 500.00 · over 24 h: AED 500.00 per further started day"
	if !strings.Contains(dm, want) {
		t.Errorf("Dubai Mall: missing %q in\n%s", want, dm)
	}
}
