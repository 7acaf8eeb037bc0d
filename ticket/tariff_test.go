package ticket

import (
	"errors"
	"math"
	"math/big"
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

// mustQuote prices s, failing the test if the fee cannot be computed.
func mustQuote(t testing.TB, tr *Tariff, s Stay) Quote {
	t.Helper()
	q, err := tr.Quote(s)
	if err != nil {
		t.Fatalf("quote %v..%v: %v", s.Entry, s.Exit, err)
	}
	return q
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
			q := mustQuote(t, tr, Stay{Entry: c.entry, Exit: c.exit})
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
			q := mustQuote(t, tr, Stay{Entry: entry, Exit: entry.Add(c.stay), Lost: c.lost, Validation: c.val})
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
	paid := mustQuote(t, tr, Stay{Entry: entry, Exit: paidAt}).Due // 2h: AED 15
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
		q := mustQuote(t, tr, Stay{Entry: entry, Exit: at(c.exit), Paid: paid, LastPaid: paidAt})
		if q.Due != c.want || q.Free != c.free {
			t.Errorf("exit %s: due %s free %q, want %s %q\n%s", c.exit, q.Due, q.Free, c.want, c.free, strings.Join(q.Steps, "\n"))
		}
	}
	// Same slab: paid for the 4-5h slab at Dubai Mall, leave late in the same slab.
	dm := loadTariff(t, "dubai-mall")
	mon := at("2024-07-01 10:00:00")
	q := mustQuote(t, dm, Stay{Entry: mon, Exit: at("2024-07-01 14:50:00"), Paid: money.AED(20), LastPaid: at("2024-07-01 14:10:00")})
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
		if q := mustQuote(t, tr, Stay{Entry: e, Exit: e.Add(c.stay), Lost: c.lost}); q.Due != c.want {
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
		if q := mustQuote(t, c.tr, Stay{Entry: e, Exit: e.Add(c.stay)}); q.Due != c.want {
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
	for _, n := range []string{"dubai-mall", "al-wahda", "dxb-t1-a", "dxb-t1-b", "gen", "dubai-mall-2024", "marina-mall", "al-wahda-overnight", "europe-night"} {
		if _, err := os.Stat("testdata/tariffs/" + n + ".toml"); err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkQuote30Days(b *testing.B) {
	entry := at("2026-03-02 08:00:00")
	benchQuote(b, loadTariff(b, "gen"), entry, 30*24*time.Hour+3*time.Hour+17*time.Minute, money.AED(30*50+25))
}

// The README shows every fixture as a complete example; keep them equal.
func TestReadmeShowsTariffs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dubai-mall", "al-wahda", "dxb-t1-a", "dxb-t1-b", "gen", "dubai-mall-2024", "marina-mall", "al-wahda-overnight", "europe-night"} {
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

// The config: extra_day = "92233720368547757.00" passed validation
// and a 24h01m stay priced at a negative fee. Validate refuses the amount,
// and Quote of such an unvalidated tariff is an error, never a wrapped fee.
func TestFeeOverflow(t *testing.T) {
	huge := money.MustParse("92233720368547757.00")
	tr := &Tariff{LostFee: money.AED(150), Tables: []Table{{
		Name: "all week", After24h: "per_day", ExtraDay: huge,
		Slabs: []Slab{{UpTo: time.Hour, Price: money.AED(10)}, {UpTo: Block, Price: money.AED(50)}},
	}}}
	joined := errors.Join(tr.Validate("tariff")...)
	if joined == nil || !strings.Contains(joined.Error(), "tariff.tables[0] (all week).extra_day:") || !strings.Contains(joined.Error(), "AED 1000000.00") {
		t.Fatalf("extra_day %s accepted by Validate: %v", huge, joined)
	}
	entry := at("2026-03-02 10:00:00")
	q, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(24*time.Hour + time.Minute)})
	if !errors.Is(err, ErrFeeOverflow) {
		t.Fatalf("24h01m: fee %s (%d fils), err %v; want ErrFeeOverflow", q.Fee, q.Fee, err)
	}

	// Restart blocks and increments overflow the same way.
	inc := &Tariff{Tables: []Table{{FirstPeriod: time.Hour, FirstPrice: huge / 2, Increment: time.Hour, IncrementPrice: huge / 2}}}
	for _, stay := range []time.Duration{3 * time.Hour, 49 * time.Hour} {
		if q, err := inc.Quote(Stay{Entry: entry, Exit: entry.Add(stay)}); !errors.Is(err, ErrFeeOverflow) {
			t.Errorf("increments %s: fee %d, err %v; want ErrFeeOverflow", stay, q.Fee, err)
		}
	}
	// A cap bounds a block whose uncapped price cannot be computed.
	inc.Tables[0].Cap = money.AED(50)
	if q, err := inc.Quote(Stay{Entry: entry, Exit: entry.Add(49 * time.Hour)}); err != nil || q.Fee != money.AED(150) {
		t.Errorf("capped: fee %s, err %v; want AED 150.00", q.Fee, err)
	}
}

// A percent validation of a large fee is exact: the fee is not multiplied
// before it is divided.
func TestPercentOfLargeFee(t *testing.T) {
	large := money.Fils(math.MaxInt64 / 50)
	tr := &Tariff{Tables: []Table{{Slabs: []Slab{{UpTo: Block, Price: large}}}}}
	entry := at("2026-03-02 10:00:00")
	q, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(time.Hour), Validation: Validation{Percent: 33}})
	want := new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(large)), big.NewInt(67)), big.NewInt(100)).Int64()
	if err != nil || int64(q.Fee) != want {
		t.Fatalf("67%% of %d: %d, %v; want %d", large, q.Fee, err, want)
	}
}

// Every amount of a tariff is between 0 and money.Max, every duration not
// negative (and the block-sized ones at most 24h); each problem names its
// key.
func TestTariffBounds(t *testing.T) {
	over, neg := money.Max+1, money.Fils(-1)
	base := func() *Tariff {
		return &Tariff{LostFee: money.AED(150), Tables: []Table{{
			FirstPeriod: time.Hour, FirstPrice: money.AED(10), Increment: time.Hour, IncrementPrice: money.AED(5), Cap: money.AED(50),
		}}, Validations: []NamedValidation{{Code: "V", Validation: Validation{Amount: money.AED(5)}}}}
	}
	slabs := func() *Tariff {
		return &Tariff{LostFee: money.AED(150), Tables: []Table{{
			After24h: "per_day", ExtraDay: money.AED(100),
			Slabs: []Slab{{UpTo: time.Hour, Price: money.AED(10)}, {UpTo: Block, Price: money.AED(50)}},
		}}}
	}
	cases := []struct {
		key  string
		make func() *Tariff
		edit func(*Tariff)
	}{
		{"tariff.lost_fee: amount out of range", base, func(t *Tariff) { t.LostFee = over }},
		{"tariff.lost_fee: negative amount", base, func(t *Tariff) { t.LostFee = neg }},
		{"tariff.tables[0].first_price: amount out of range", base, func(t *Tariff) { t.Tables[0].FirstPrice = over }},
		{"tariff.tables[0].first_price: negative", base, func(t *Tariff) { t.Tables[0].FirstPrice = neg }},
		{"tariff.tables[0].increment_price: amount out of range", base, func(t *Tariff) { t.Tables[0].IncrementPrice = over }},
		{"tariff.tables[0].increment_price: negative", base, func(t *Tariff) { t.Tables[0].IncrementPrice = neg }},
		{"tariff.tables[0].cap: amount out of range", base, func(t *Tariff) { t.Tables[0].Cap = over }},
		{"tariff.tables[0].cap: negative", base, func(t *Tariff) { t.Tables[0].Cap = neg }},
		{"tariff.tables[0].extra_day: amount out of range", slabs, func(t *Tariff) { t.Tables[0].ExtraDay = over }},
		{"tariff.tables[0].slabs[1].price: amount out of range", slabs, func(t *Tariff) { t.Tables[0].Slabs[1].Price = over }},
		{"tariff.tables[0].slabs[0].price: negative", slabs, func(t *Tariff) { t.Tables[0].Slabs[0].Price = neg }},
		{"tariff.validations[0].amount: amount out of range", base, func(t *Tariff) { t.Validations[0].Amount = over }},
		{"tariff.validations[0].amount: negative", base, func(t *Tariff) { t.Validations[0].Amount = neg }},
		{"tariff.grace: must not be negative", base, func(t *Tariff) { t.Grace = -time.Second }},
		{"tariff.grace: 24h0m1s is longer than 24h", base, func(t *Tariff) { t.Grace = Block + time.Second }},
		{"tariff.exit_grace: must not be negative", base, func(t *Tariff) { t.ExitGrace = -time.Second }},
		{"tariff.exit_grace: 25h is longer than 24h", base, func(t *Tariff) { t.ExitGrace = 25 * time.Hour }},
		{"tariff.tables[0].free: must not be negative", base, func(t *Tariff) { t.Tables[0].Free = -time.Minute }},
		{"tariff.tables[0].free: 48h is longer than 24h", base, func(t *Tariff) { t.Tables[0].Free = 48 * time.Hour }},
		{"tariff.tables[0].first_period: must be positive", base, func(t *Tariff) { t.Tables[0].FirstPeriod = -time.Hour }},
		{"tariff.tables[0].first_period: 2562047h47m16s is longer than 24h", base, func(t *Tariff) { t.Tables[0].FirstPeriod = math.MaxInt64 }},
		// A first period of a whole block needs no increment, but a
		// negative one is still refused.
		{"tariff.tables[0].increment: must not be negative", base, func(t *Tariff) { t.Tables[0].FirstPeriod, t.Tables[0].Increment = Block, -time.Hour }},
		{"tariff.tables[0].increment: 48h is longer than 24h", base, func(t *Tariff) { t.Tables[0].Increment = 48 * time.Hour }},
		{"tariff.validations[0].time: must not be negative", base, func(t *Tariff) { t.Validations[0].Time = -2 * time.Hour }},
	}
	for _, c := range cases {
		tr := c.make()
		if errs := tr.Validate("tariff"); len(errs) > 0 {
			t.Fatalf("base tariff: %v", errs)
		}
		c.edit(tr)
		errs := tr.Validate("tariff")
		joined := errors.Join(errs...)
		if joined == nil || !strings.Contains(joined.Error(), c.key) {
			t.Errorf("want %q, got %v", c.key, joined)
		}
	}
	// The bound itself is allowed.
	tr := slabs()
	tr.LostFee, tr.Tables[0].Slabs[1].Price, tr.Tables[0].ExtraDay = money.Max, money.Max, money.Max
	if errs := tr.Validate("tariff"); len(errs) > 0 {
		t.Errorf("AED 1,000,000.00 refused: %v", errs)
	}
}

// FuzzQuote prices arbitrary stays with arbitrary tariffs whose amounts
// and durations are within Validate's bounds: no panic, no error, and no
// negative or wrapped fee, even for the longest stay a Duration holds.
func FuzzQuote(f *testing.F) {
	maxStay := int64(math.MaxInt64)
	f.Add(false, false, int64(15*60), int64(20*60), int64(15000), int64(3600), int64(1000), int64(3600), int64(500), int64(5000), int64(0), int64(0), int64(3*3600), int64(0), int64(0), 0, int64(0), int64(0))
	f.Add(false, false, int64(0), int64(0), int64(money.Max), int64(1), int64(money.Max), int64(1), int64(money.Max), int64(0), int64(0), int64(0), maxStay, int64(0), int64(0), 0, int64(0), int64(0))
	f.Add(true, true, int64(0), int64(0), int64(money.Max), int64(1), int64(money.Max), int64(1), int64(money.Max), int64(0), int64(money.Max), int64(0), maxStay, int64(0), int64(0), 99, int64(money.Max), int64(1))
	f.Add(true, false, int64(0), int64(0), int64(0), int64(0), int64(money.Max), int64(0), int64(0), int64(0), int64(money.Max), int64(0), maxStay, int64(0), int64(0), 0, int64(0), int64(0))
	f.Add(false, true, int64(86400), int64(86400), int64(1), int64(86400), int64(1), int64(86400), int64(1), int64(1), int64(1), int64(86400), int64(-1), int64(1), int64(1), 100, int64(-1), int64(-1))
	f.Fuzz(func(t *testing.T, slabs, perDay bool, grace, exitGrace, lost, firstPeriod, firstPrice, increment, incPrice, capAmt, extra, free, stay, valTime, valAmount int64, percent int, paid, paidAgo int64) {
		amount := func(v int64) money.Fils { return money.Fils(absMod(v, int64(money.Max)+1)) }
		block := func(v int64) time.Duration { return time.Duration(absMod(v, int64(Block/time.Second)+1)) * time.Second }
		tb := Table{Name: "fuzz", Cap: amount(capAmt)}
		if perDay {
			tb.After24h, tb.ExtraDay = "per_day", amount(extra)
			if tb.ExtraDay == 0 {
				tb.ExtraDay = 1
			}
		}
		if slabs {
			// Three slabs, increasing, the last at 24h.
			a := max(block(firstPeriod), time.Second)
			b := a + max((block(increment)/2).Truncate(time.Second), time.Second)
			p1, p2 := amount(firstPrice), amount(incPrice)
			tb.Slabs = []Slab{{UpTo: min(a, Block-2*time.Second), Price: min(p1, p2)}, {UpTo: min(b, Block-time.Second), Price: max(p1, p2)}, {UpTo: Block, Price: max(p1, p2, amount(lost))}}
			if tb.Slabs[1].UpTo <= tb.Slabs[0].UpTo {
				tb.Slabs[1].UpTo = tb.Slabs[0].UpTo + time.Second
			}
		} else {
			tb.FirstPeriod = max(block(firstPeriod), time.Second)
			tb.FirstPrice, tb.IncrementPrice = amount(firstPrice), amount(incPrice)
			tb.Increment = max(block(increment), time.Second)
			tb.Free = block(free)
		}
		tr := &Tariff{Grace: block(grace), ExitGrace: block(exitGrace), LostFee: amount(lost), Tables: []Table{tb}, Location: dubai}
		if errs := tr.Validate("tariff"); len(errs) > 0 {
			t.Fatalf("generated tariff invalid: %v", errs)
		}
		v := Validation{Time: time.Duration(absMod(valTime, math.MaxInt64))}
		if percent = int(absMod(int64(percent), 101)); percent > 0 {
			v.Percent = percent
		} else {
			v.Amount = amount(valAmount)
		}
		entry := at("2026-03-02 10:00:00")
		exit := entry.Add(time.Duration(stay))
		s := Stay{Entry: entry, Exit: exit, Validation: v, Paid: amount(paid), LastPaid: exit.Add(-time.Duration(absMod(paidAgo, math.MaxInt64)))}
		for _, lostTicket := range []bool{false, true} {
			s.Lost = lostTicket
			q, err := tr.Quote(s)
			if err != nil {
				t.Fatalf("quote of a valid tariff failed: %v", err)
			}
			if q.Fee < 0 || q.Due < 0 || q.Due > q.Fee || q.Billable > q.Stay || q.Stay < 0 {
				t.Fatalf("fee %d due %d stay %s billable %s\n%s", q.Fee, q.Due, q.Stay, q.Billable, strings.Join(q.Steps, "\n"))
			}
			// The dearest bounded tariff charges less than 10^18 fils for
			// the longest stay (106,751 blocks of at most 86,401 amounts of
			// AED 1,000,000): a fee beyond that has wrapped somewhere.
			if q.Fee > 1e18 {
				t.Fatalf("fee %d is beyond any bounded tariff's reach", q.Fee)
			}
		}
	})
}

// absMod is |v| mod m for m > 0, safe for math.MinInt64.
func absMod(v, m int64) int64 {
	r := v % m
	if r < 0 {
		r = -r
	}
	return r
}
