package ui

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/exitlane/exitlane/lane"
)

// The paid screen's receipt button (issue 14, receipts): offered only
// while the lane offers a receipt (available, or failed to try again), a
// tap sends lane.Receipt for the visit on screen, and every state says
// where the receipt stands in both languages, whichever is chosen.
func TestKioskReceiptButton(t *testing.T) {
	paid := feeSnap()
	paid.State, paid.Cause, paid.TokenURL, paid.Visit = lane.Opening, lane.CausePaid, "", 41

	for _, lang := range []string{LangEnglish, LangArabic} {
		f := newFakeLane()
		k, w := newTestKiosk(t, f, lang)
		w.Resize(fyne.NewSize(1920, 1080))
		label := map[string]string{LangEnglish: "Receipt · إيصال", LangArabic: "إيصال · Receipt"}[lang]
		retry := map[string]string{LangEnglish: "Try receipt again · أعد محاولة الإيصال", LangArabic: "أعد محاولة الإيصال · Try receipt again"}[lang]

		// Not offered: no printer, a free exit, the fee screen.
		free := baseSnap()
		free.State, free.Cause, free.Visit = lane.Opening, lane.CauseGrace, 8
		for _, s := range []lane.Snapshot{paid, free, feeSnap()} {
			k.Show(s)
			if findButton(w.Canvas().Content(), label) != nil || findText(w.Canvas().Content(), "Receipt") != nil {
				t.Errorf("%s: receipt offered in %s/%s with Receipt %s", lang, s.State, s.Cause, s.Receipt)
			}
		}

		// Offered, on the paid screen and once the barrier is open.
		for _, st := range []lane.State{lane.Opening, lane.Open} {
			s := paid
			s.State, s.Receipt = st, lane.ReceiptAvailable
			k.Show(s)
			tapButton(t, w, label)
			if a := f.next(t); a != (lane.Receipt{Visit: 41}) {
				t.Errorf("%s %s: receipt tapped: got %#v", lang, st, a)
			}
		}

		// Each state in both languages.
		for _, c := range []struct {
			state  lane.ReceiptState
			want   []string
			button string
		}{
			{lane.ReceiptPrinting, []string{"Printing…", "جارٍ الطباعة…"}, ""},
			{lane.ReceiptPrinted, []string{"Printed", "تمت الطباعة"}, ""},
			{lane.ReceiptFailed, []string{"Printer unavailable, please ask the attendant", "الطابعة غير متاحة، يرجى مراجعة الموظف"}, retry},
		} {
			s := paid
			s.Receipt = c.state
			k.Show(s)
			root := w.Canvas().Content()
			for _, want := range c.want {
				if findText(root, want) == nil {
					t.Errorf("%s, receipt %s: no %q in %q", lang, c.state, want, textStrings(root))
				}
			}
			if findButton(root, label) != nil {
				t.Errorf("%s, receipt %s: the Receipt button is still offered", lang, c.state)
			}
			if c.button == "" {
				continue
			}
			tapButton(t, w, c.button)
			if a := f.next(t); a != (lane.Receipt{Visit: 41}) {
				t.Errorf("%s: try again tapped: got %#v", lang, a)
			}
		}
		k.Close()
	}
}

// A tap the lane answers with lane.ErrNotNow (the receipt is already
// printing, the screen moved on) is quiet: the next snapshot tells the
// driver where the receipt stands. Another refusal is logged.
func TestKioskReceiptNotNowIgnored(t *testing.T) {
	for _, c := range []struct {
		err    error
		logged bool
	}{{lane.ErrNotNow, false}, {fmt.Errorf("runner: %w", lane.ErrNotNow), false}, {errors.New("runner stopped"), true}} {
		f := newFakeLane()
		f.err = c.err
		k, w := newTestKiosk(t, f, LangEnglish)
		var log bytes.Buffer
		k.log = slog.New(slog.NewTextHandler(&log, nil))
		w.Resize(fyne.NewSize(1920, 1080))
		s := feeSnap()
		s.State, s.Cause, s.TokenURL, s.Receipt = lane.Opening, lane.CausePaid, "", lane.ReceiptAvailable
		k.Show(s)
		tapButton(t, w, "Receipt · إيصال")
		if a := f.next(t); a != (lane.Receipt{Visit: s.Visit}) {
			t.Fatalf("got %#v", a)
		}
		k.Close() // waits for the action
		if got := strings.Contains(log.String(), "kiosk action refused"); got != c.logged {
			t.Errorf("%v: logged %v, want %v: %s", c.err, got, c.logged, log.String())
		}
	}
}
