// Package cdp drives a headless Chromium for tests over the Chrome
// DevTools Protocol on --remote-debugging-pipe: JSON messages separated
// by NUL bytes on fds 3 (to the browser) and 4 (from it). No websocket
// library needed. The browser runs under internal/proctest, with a
// deadline: past it the browser is killed, which ends any read.
package cdp

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
)

// Chromium is where the tests expect the browser.
const Chromium = "/usr/bin/chromium"

// Require skips the test when there is no Chromium (or in -short mode).
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Skip("no " + Chromium + " (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
}

// Browser is a headless Chromium.
type Browser struct {
	t    testing.TB
	p    *proctest.Proc
	w    *os.File
	r    *bufio.Reader
	mu   sync.Mutex
	next int
}

// Start starts Chromium; it is killed at the test's cleanup or after
// limit, whichever is first.
func Start(t testing.TB, limit time.Duration) *Browser {
	t.Helper()
	toBrowser, browserIn, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	browserOut, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	p := proctest.Start(t, cmd)
	toBrowser.Close()
	fromBrowser.Close()
	watchdog := time.AfterFunc(limit, func() { p.Signal(os.Kill) })
	b := &Browser{t: t, p: p, w: browserIn, r: bufio.NewReader(browserOut)}
	t.Cleanup(func() {
		watchdog.Stop()
		b.call("", "Browser.close", map[string]any{})
		browserIn.Close()
		p.Signal(os.Kill)
		p.Wait(30 * time.Second)
		browserOut.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", proctest.Tail(p.Stderr(), 16<<10))
		}
	})
	return b
}

// Call sends one command (to session, "" for the browser) and returns its
// result; events in between are skipped.
func (b *Browser) Call(session, method string, params any) (json.RawMessage, error) {
	return b.call(session, method, params)
}

func (b *Browser) call(session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return nil, err
	}
	for {
		raw, err := b.r.ReadBytes(0)
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

// Page is one tab, attached.
type Page struct {
	b       *Browser
	Session string
}

// Open opens url in a new tab (in a fresh browser context when isolated:
// its own cookies) and attaches to it.
func (b *Browser) Open(url string, isolated bool) *Page {
	b.t.Helper()
	params := map[string]any{"url": url}
	if isolated {
		res, err := b.Call("", "Target.createBrowserContext", map[string]any{})
		if err != nil {
			b.t.Fatal(err)
		}
		var ctx struct {
			ID string `json:"browserContextId"`
		}
		json.Unmarshal(res, &ctx)
		params["browserContextId"] = ctx.ID
	}
	res, err := b.Call("", "Target.createTarget", params)
	if err != nil {
		b.t.Fatal(err)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	json.Unmarshal(res, &target)
	res, err = b.Call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		b.t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	json.Unmarshal(res, &att)
	return &Page{b: b, Session: att.SessionID}
}

// Eval evaluates a JavaScript expression in the page and returns its
// value as JSON.
func (p *Page) Eval(expr string) (json.RawMessage, error) {
	res, err := p.b.Call(p.Session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		return nil, err
	}
	var v struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &v); err != nil {
		return nil, err
	}
	if v.Exception != nil {
		return nil, fmt.Errorf("%s: %s", expr, v.Exception.Text)
	}
	return v.Result.Value, nil
}

// String evaluates expr, which must give a string (else "").
func (p *Page) String(expr string) string {
	v, err := p.Eval(expr)
	if err != nil {
		return ""
	}
	var s string
	json.Unmarshal(v, &s)
	return s
}

// Navigate loads url in the page.
func (p *Page) Navigate(url string) {
	p.b.t.Helper()
	if _, err := p.b.Call(p.Session, "Page.navigate", map[string]any{"url": url}); err != nil {
		p.b.t.Fatal(err)
	}
}

// WaitFor polls a JavaScript condition (a browser's state, outside any
// fake clock) until it is true or d passes.
func (p *Page) WaitFor(what, expr string, d time.Duration) {
	p.b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		v, err := p.Eval(expr)
		if err == nil && string(v) == "true" {
			return
		}
		if time.Now().After(deadline) {
			p.b.t.Fatalf("timed out waiting for %s (%s): %s %v\npage: %s", what, expr, v, err,
				p.String(`document.location.href + "\n" + (document.body ? document.body.innerText.slice(0, 3000) : "")`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Viewport sets the page's size in CSS pixels (mobile: a phone's
// viewport and touch).
func (p *Page) Viewport(width, height int, mobile bool) {
	p.b.t.Helper()
	if _, err := p.b.Call(p.Session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}); err != nil {
		p.b.t.Fatal(err)
	}
}

// Screenshot returns the page as PNG (full: the whole page, not only the
// viewport).
func (p *Page) Screenshot(full bool) []byte {
	p.b.t.Helper()
	res, err := p.b.Call(p.Session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": full})
	if err != nil {
		p.b.t.Fatal(err)
	}
	var shot struct {
		Data string `json:"data"`
	}
	json.Unmarshal(res, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		p.b.t.Fatal(err)
	}
	return png
}
