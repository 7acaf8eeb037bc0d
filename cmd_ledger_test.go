package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
)

// testLedger makes the ledger of testConfig's lane with one paid exit and
// one payment with no exit, and closes it (as a stopped lane leaves it:
// no -wal, no -shm).
func testLedger(t *testing.T, cfg string) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(cfg), "exitlane.db")
	ctx := context.Background()
	l, err := ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	paidRec := func(no string, amount int64) *lane.StatusRec {
		return &lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: money.Fils(amount)}, Source: lane.SourcePoll, At: at.Add(time.Minute)}
	}
	for _, r := range []lane.Record{
		lane.VisitRec{Visit: 1, At: at, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "1", Format: lane.FormatSigned}, Quote: lane.Quote{Fee: 500, Due: 500}},
		lane.OrderRec{No: "GRG01-X1-1-1", Visit: 1, TicketID: "T1", Key: "GRG01-X1-1", Attempt: 1, Amount: 500, At: at, Expire: at.Add(5 * time.Minute)},
		lane.ExitRec{Visit: 1, TicketID: "T1", At: at.Add(time.Minute), Cause: lane.CausePaid, Amount: 500, No: "GRG01-X1-1-1", Auth: "1-1", Paid: paidRec("GRG01-X1-1-1", 500)},
		lane.PulseRec{Auth: "1-1", OK: true, At: at.Add(time.Minute)},
		lane.VisitRec{Visit: 2, At: at, TicketID: "T2", Ticket: lane.TicketInfo{Serial: "2", Format: lane.FormatSigned}, Quote: lane.Quote{Fee: 500, Due: 500}},
		lane.OrderRec{No: "GRG01-X1-2-1", Visit: 2, TicketID: "T2", Key: "GRG01-X1-2", Attempt: 1, Amount: 500, At: at, Expire: at.Add(5 * time.Minute)},
		lane.AbandonRec{No: "GRG01-X1-2-1", At: at.Add(time.Minute)},
		*paidRec("GRG01-X1-2-1", 500),
	} {
		if err := l.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestLedgerBackupKeepsNewestAndChecks(t *testing.T) {
	cfg := testConfig(t)
	db := testLedger(t, cfg)
	dir := t.TempDir()
	// Another lane's backup, an old one of this lane, and a stray file.
	for _, n := range []string{"exitlane-GRG01-X2-20200101T000000Z.db", "exitlane-GRG01-X1-20200101T000000Z.db",
		"exitlane-GRG01-X1-20200102T000000Z.db", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := runCLI("ledger", "backup", "--config", cfg, "--keep", "2", dir)
	if code != exitOK {
		t.Fatalf("ledger backup: exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "removed "+filepath.Join(dir, "exitlane-GRG01-X1-20200101T000000Z.db")) {
		t.Errorf("retention: %s", out)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	var backup string
	for _, e := range ents {
		names = append(names, e.Name())
		if strings.HasPrefix(e.Name(), "exitlane-GRG01-X1-") && !strings.Contains(e.Name(), "-2020") {
			backup = filepath.Join(dir, e.Name())
		}
	}
	if len(names) != 4 || backup == "" {
		t.Fatalf("backup directory: %v", names)
	}
	if fi, _ := os.Stat(backup); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o", fi.Mode().Perm())
	}

	out, errOut, code = runCLI("ledger", "check", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "invariants hold, 1 paid not exited") || !strings.Contains(out, "order GRG01-X1-2-1") {
		t.Fatalf("ledger check: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = runCLI("ledger", "check", "--config", cfg, "--file", backup)
	if code != exitOK {
		t.Fatalf("ledger check of the backup: exit %d: %s%s", code, out, errOut)
	}
	// A breach: exit 1 and says which invariant.
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.SQL().Exec(`UPDATE orders SET refunded = 900 WHERE merchant_order_no = 'GRG01-X1-2-1'`); err != nil {
		t.Fatal(err)
	}
	l.Close()
	out, _, code = runCLI("ledger", "check", "--config", cfg)
	if code != exitFailure || !strings.Contains(out, "WRONG invariant 5: order GRG01-X1-2-1 refunded 900") {
		t.Fatalf("ledger check of a broken ledger: exit %d: %s", code, out)
	}

	for _, args := range [][]string{
		{"ledger", "backup", "--config", cfg},
		{"ledger", "backup", "--config", cfg, "--keep", "-1", dir},
		{"ledger", "check", "--config", cfg, "extra"},
	} {
		if _, _, code := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if _, _, code := runCLI("ledger", "backup", "--config", cfg, filepath.Join(dir, "absent")); code != exitFailure {
		t.Errorf("backup into an absent directory: exit %d", code)
	}
}
