package ledger

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Every record the ledger accepts is in the outbox under the next seq, in
// the record's own transaction: a refused record leaves no row and no gap;
// a pulse start is shipped like every other record.
func TestOutbox(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 5, time.FixedZone("+04", 4*3600))
	var want []lane.Record
	add := func(r lane.Record) {
		t.Helper()
		rec(t, l, r)
		want = append(want, r)
	}
	add(lane.VisitRec{Visit: 1, At: at, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "1"}, Offline: true})
	add(lane.OrderRec{Visit: 1, TicketID: "T1", Key: "K", No: "N1", Attempt: 1, Amount: money.AED(10), At: at, Expire: at.Add(time.Minute)})
	add(lane.ExitRec{Visit: 1, TicketID: "T1", At: at, Cause: lane.CausePaid, Amount: money.AED(10), No: "N1", Auth: "a1",
		Paid: paid("N1", money.AED(10), lane.SourcePoll), Offline: true})
	add(lane.PulseStartRec{Auth: "a1", At: at})
	// Refused: anti-passback; nothing reaches the outbox.
	if err := l.Record(ctx, lane.ExitRec{Visit: 1, TicketID: "T1", At: at, Cause: lane.CauseGrace, Auth: "a2"}); !errors.Is(err, lane.ErrAlreadyExited) {
		t.Fatalf("second exit: %v", err)
	}
	add(lane.PulseRec{Auth: "a1", At: at, OK: true})

	l = reopen(t, l, path)
	n, err := l.OutboxSeq(ctx)
	must(t, err)
	if n != int64(len(want)) {
		t.Fatalf("outbox seq %d, want %d", n, len(want))
	}
	rows, err := l.Outbox(ctx, 1, 100)
	must(t, err)
	if len(rows) != len(want)-1 {
		t.Fatalf("%d rows after 1, want %d", len(rows), len(want)-1)
	}
	for i, o := range rows {
		if o.Seq != int64(i+2) {
			t.Errorf("row %d: seq %d", i, o.Seq)
		}
		got, err := o.Record()
		must(t, err)
		kind, data, err := lane.EncodeRecord(want[i+1])
		must(t, err)
		if o.Kind != kind || string(o.Data) != string(data) {
			t.Errorf("seq %d: %s %s, want %s %s", o.Seq, o.Kind, o.Data, kind, data)
		}
		if _, again, _ := lane.EncodeRecord(got); string(again) != string(o.Data) {
			t.Errorf("seq %d: decode then encode changed the bytes", o.Seq)
		}
		if !reflect.DeepEqual(reflect.TypeOf(got), reflect.TypeOf(want[i+1])) {
			t.Errorf("seq %d: %T, want %T", o.Seq, got, want[i+1])
		}
	}
	var off int
	must(t, l.SQL().QueryRowContext(ctx, `SELECT v.offline + x.offline FROM visits v JOIN exits x ON x.visit_id = v.id WHERE v.id = 1`).Scan(&off))
	if off != 2 {
		t.Errorf("offline marks: %d, want the visit's and the exit's", off)
	}
	has, err := l.HasExit(ctx, 1)
	must(t, err)
	if none, _ := l.HasExit(ctx, 2); !has || none {
		t.Errorf("HasExit(1) = %v, HasExit(2) = %v", has, none)
	}
}
