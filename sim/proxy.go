package sim

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// payByProxy forwards TCP connections to the sandbox; SetDown(true) makes
// it drop every connection at once, as an unreachable PayBy would.
type payByProxy struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newPayByProxy(target string) (*payByProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("payby proxy: %w", err)
	}
	p := &payByProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *payByProxy) Addr() string { return p.ln.Addr().String() }

// SetDown cuts PayBy off (also the client's kept-alive connections) or
// restores it.
func (p *payByProxy) SetDown(down bool) {
	p.down.Store(down)
	if !down {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *payByProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *payByProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not a polite close
			}
			c.Close()
			continue
		}
		p.track(c, true)
		go func() {
			defer p.track(c, false)
			defer c.Close()
			t, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				return
			}
			defer t.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(t, c); done <- struct{}{} }()
			go func() { io.Copy(c, t); done <- struct{}{} }()
			<-done
		}()
	}
}

func (p *payByProxy) Close() {
	p.ln.Close()
	p.wg.Wait()
}
