package sim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
)

// The one config text of simulated lanes loads, with its defaults and
// with every optional part (validation, printer and VAT, site store).
func TestLaneConfig(t *testing.T) {
	dir := t.TempDir()
	k, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := payby.EncodePrivateKey(k)
	pub, _ := payby.EncodePublicKey(&k.PublicKey)
	for name, data := range map[string][]byte{"merchant.key": priv, "payby.pub": pub,
		"ticket.key": []byte("0123456789abcdef0123456789abcdef\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	load := func(c LaneConfig) *config.Config {
		t.Helper()
		path := filepath.Join(dir, "lane.toml")
		if err := WriteLaneConfig(path, c); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatalf("%v\n%s", err, c.TOML())
		}
		return cfg
	}
	base := LaneConfig{PayByURL: "http://127.0.0.1:1/sandbox", Scanner: "/dev/pts/98", Relay: "/dev/pts/99"}
	cfg := load(base)
	if cfg.Site.ID != "SIM" || cfg.Site.Lane != "X1" || cfg.Site.Name != "Simulation Mall Garage" || cfg.Site.TRN != "" ||
		cfg.Relay.Board != "lcus" || cfg.Relay.Pulse != 500*time.Millisecond || cfg.PayBy.PollInterval != time.Second ||
		cfg.Lane.Notice != 6*time.Second || cfg.Lane.Opened != 8*time.Second || cfg.Ledger.Path != filepath.Join(dir, "lane.db") ||
		len(cfg.Tariff.Validations) != 0 || cfg.Tariff.VATPercent != 0 || cfg.Printer.Port != "" || cfg.SiteStore.Enabled() {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.Tariff.LostFee != money.AED(150) {
		t.Errorf("lost fee %s", cfg.Tariff.LostFee)
	}
	all := base
	all.Site, all.Lane, all.Name, all.Merchant = "GRG01", "X2", "Test Garage", "Test Parking"
	all.Validation, all.Poll, all.Board, all.Pulse, all.Ledger, all.Notice, all.Opened = true, "2s", "numato", "100ms", "lane-X2.db", "2s", "3s"
	all.Printer, all.PrinterWidth, all.AutoPrint = "/dev/pts/97", 58, true
	all.StoreURL = "postgres://exitlane@127.0.0.1:5432/site"
	cfg = load(all)
	if cfg.Site.ID != "GRG01" || cfg.Site.Lane != "X2" || cfg.Site.Name != "Test Garage" || cfg.Site.Merchant != "Test Parking" ||
		cfg.Relay.Board != "numato" || cfg.Relay.Pulse != 100*time.Millisecond || cfg.PayBy.PollInterval != 2*time.Second ||
		cfg.Lane.Notice != 2*time.Second || cfg.Lane.Opened != 3*time.Second || cfg.Ledger.Path != filepath.Join(dir, "lane-X2.db") {
		t.Errorf("set: %+v", cfg)
	}
	if len(cfg.Tariff.Validations) != 1 || cfg.Tariff.Validations[0].Code != "CINEMA" {
		t.Errorf("validations %+v", cfg.Tariff.Validations)
	}
	if cfg.Printer.Port != all.Printer || cfg.Printer.Width != 58 || !cfg.Printer.AutoPrint || cfg.Tariff.VATPercent != 500 || cfg.Site.TRN == "" {
		t.Errorf("printer %+v, VAT %s, TRN %q", cfg.Printer, cfg.Tariff.VATPercent, cfg.Site.TRN)
	}
	if cfg.SiteStore.URL != all.StoreURL || cfg.SiteStore.Timeout != 300*time.Millisecond {
		t.Errorf("site store %+v", cfg.SiteStore)
	}
}
