package sandbox_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/payby"
)

const chromium = "/usr/bin/chromium"

// cdp speaks the Chrome DevTools Protocol over --remote-debugging-pipe:
// JSON messages separated by NUL bytes on fds 3 (to the browser) and 4
// (from it). No websocket library needed.
type cdp struct {
	w    *os.File
	r    *bufio.Reader
	next int
}

func (c *cdp) call(session, method string, params any) (json.RawMessage, error) {
	c.next++
	id := c.next
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return nil, err
	}
	for {
		raw, err := c.r.ReadBytes(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(raw[:len(raw)-1], &resp); err != nil {
			return nil, err
		}
		if resp.ID != id {
			continue // an event, or an answer to something else
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, resp.Error.Message)
		}
		return resp.Result, nil
	}
}

func (c *cdp) eval(session, expr string) (json.RawMessage, error) {
	res, err := c.call(session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var v struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
	}
	err = json.Unmarshal(res, &v)
	return v.Result.Value, err
}

// waitFor polls cond (a browser or sandbox state outside our control: no
// fake clock can stand in for a real browser) until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserPays opens a tokenUrl in headless Chromium, presses Pay, and
// checks the order is PAID_SUCCESS.
func TestBrowserPays(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no " + chromium + " (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	sb, srv := start(t, nil)
	created, err := client(t, srv).CreateOrder(context.Background(), payby.CreateOrder{MerchantOrderNo: "WEB-1", Amount: 2500, Subject: "Parking fee", MerchantName: "Example Parking LLC"})
	if err != nil {
		t.Fatal(err)
	}

	toBrowser, browserIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	p := proctest.Start(t, cmd)
	toBrowser.Close()
	fromBrowser.Close()
	// The whole exchange has a minute; then the browser is killed, which
	// ends any read from its pipe.
	watchdog := time.AfterFunc(time.Minute, func() { p.Signal(os.Kill) })
	defer func() {
		watchdog.Stop()
		browserIn.Close()
		p.Signal(os.Kill)
		p.Wait(30 * time.Second)
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", proctest.Tail(p.Stderr(), 16<<10))
		}
	}()
	c := &cdp{w: browserIn, r: bufio.NewReader(browserOut)}

	res, err := c.call("", "Target.createTarget", map[string]any{"url": created.TokenURL})
	if err != nil {
		t.Fatal(err)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	json.Unmarshal(res, &target)
	res, err = c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	json.Unmarshal(res, &att)

	waitFor(t, "the checkout page", func() bool {
		v, err := c.eval(att.SessionID, `document.readyState === "complete" && !!document.getElementById("pay")`)
		return err == nil && string(v) == "true"
	})
	v, _ := c.eval(att.SessionID, `document.getElementById("amount").textContent + "|" + document.getElementById("merchant").textContent`)
	if string(v) != `"AED 25.00|Example Parking LLC"` {
		t.Fatalf("page shows %s", v)
	}
	if _, err := c.eval(att.SessionID, `document.getElementById("pay").click()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the paid page", func() bool {
		v, err := c.eval(att.SessionID, `document.readyState === "complete" && !!document.getElementById("status") && document.getElementById("status").textContent`)
		return err == nil && string(v) == `"Paid. Thank you."`
	})
	info, err := sb.Order("WEB-1")
	if err != nil || info.Status != payby.StatusPaidSuccess {
		t.Fatalf("order after Pay: %+v %v", info, err)
	}
	o, err := client(t, srv).GetOrder(context.Background(), "WEB-1")
	if err != nil || o.Status != payby.StatusPaidSuccess {
		t.Fatalf("getOrder after Pay: %+v %v", o, err)
	}
	c.call("", "Browser.close", map[string]any{})
}
