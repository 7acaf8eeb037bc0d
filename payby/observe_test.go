package payby_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/exitlane/exitlane/payby"
)

// TestObserveEveryAttempt: Options.Observe sees each HTTP attempt of the
// one call path with its code, and failure means PayBy did not answer
// usably, not that it said no.
func TestObserveEveryAttempt(t *testing.T) {
	var mu sync.Mutex
	var seen []payby.Attempt
	e, p := newProxied(t, func(o *payby.Options) {
		o.Observe = func(a payby.Attempt) {
			mu.Lock()
			seen = append(seen, a)
			mu.Unlock()
		}
	})
	ctx := context.Background()
	no := newNo("OBS")
	p.fail(epCreate, refuse) // HTTP 503, then through
	mustCreate(t, e, no, 100)
	if _, err := e.client.GetOrder(ctx, newNo("NONE")); !payby.IsNotFound(err) {
		t.Fatalf("get unknown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, a := range seen {
		if a.Took <= 0 {
			t.Errorf("attempt %+v: no duration", a)
		}
		got = append(got, fmt.Sprintf("%s#%d %s %s failed=%t", a.Op, a.N, a.Endpoint, a.Code, a.Failed))
	}
	want := []string{
		"create order#1 " + epCreate + " http_503 failed=true",
		"create order#2 " + epCreate + " 0 failed=false",
		"get order#1 " + epGet + " 62004 failed=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("observed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
