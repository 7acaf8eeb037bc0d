package office_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/metrics/metricstest"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/payby"
)

// officeConfig is a site.toml's config for a store at url.
func officeConfig(t *testing.T, url string) *config.Config {
	t.Helper()
	keys(t)
	pem, err := payby.EncodePublicKey(&paybyKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "payby.pub")
	if err := os.WriteFile(path, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Site.ID, cfg.SiteStore.URL, cfg.Office.PayByPublicKeyFile = "GRG01", url, path
	return cfg
}

// run opens and runs an office on loopback; it stops at the test's cleanup.
func run(t *testing.T, cfg *config.Config) (*office.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := office.Open(context.Background(), cfg, office.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the office did not stop within 10s")
		}
	})
	return srv, "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestOfficeServes(t *testing.T) {
	url := pgtest.NewDB(t)
	migrated(t, url)
	srv, base := run(t, officeConfig(t, url))
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	body, sign, err := payby.SignedNotification(paybyKey, "N9", time.Now(), paidOrder("GRG01-X2-77-1"))
	if err != nil {
		t.Fatal(err)
	}
	if code := post(t, base+"/payby/notify", body, sign); code != http.StatusOK {
		t.Fatalf("notify: %d", code)
	}
	if code := post(t, base+"/payby/notify", body, ""); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", code)
	}
	if code, _ := get(t, base+"/payby/notify"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on the endpoint: %d", code)
	}
	if n := count(t, srv.Store()); n != 1 {
		t.Errorf("%d stored", n)
	}
	metricstest.Scrape(t, base+"/metrics").Want(t, map[string]float64{
		`exitlane_notifications_received_total`:                                     2,
		`exitlane_notifications_rejected_total{reason="bad_signature"}`:             1,
		`exitlane_office_notifications_recorded_total{kind="order",repeat="false"}`: 1,
	})
}

// TestOfficeStoreDown: the office starts while the store is unreachable;
// it is not ready, says why, and refuses to acknowledge notifications (so
// PayBy sends them again).
func TestOfficeStoreDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	cfg := officeConfig(t, "postgres://exitlane@"+addr+"/none?connect_timeout=2")
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics.Listen = mln.Addr().String()
	mln.Close()
	srv, base := run(t, cfg)
	mbase := "http://" + srv.MetricsAddr().String()
	code, body := get(t, mbase+"/readyz")
	var rd metrics.Readiness
	if err := json.Unmarshal(body, &rd); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || len(rd.Failing) != 1 || rd.Failing[0] != "store" {
		t.Fatalf("/readyz with the store down: %d %s", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusNotFound {
		t.Errorf("/readyz on the notification listener when [metrics] listen is set: %d", code)
	}
	b, sign, err := payby.SignedNotification(paybyKey, "N10", time.Now(), paidOrder("GRG01-X2-78-1"))
	if err != nil {
		t.Fatal(err)
	}
	if code := post(t, base+"/payby/notify", b, sign); code != http.StatusInternalServerError {
		t.Errorf("notify with the store down: %d, want 500 (PayBy retries)", code)
	}
}
