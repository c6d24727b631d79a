package sidecar

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
)

// Responses in one write.
//
// net/http writes a response through a 4 KiB buffer: a 10 KB labeled text leaves in two system
// calls (the header with the body's first bytes, then the rest), and the client wakes up for
// each. A labeled body held in memory is answered whole, so the sidecar collects the writes of
// such a response on its connection and sends them with one call (coalescingConn).
//
// Only plain HTTP/1.x connections are wrapped: there every write of a response happens in the
// request's goroutine. TLS connections are left as they are (net/http must see the *tls.Conn,
// and HTTP/2 writes from a goroutine of its own).

// maxCoalesced is the largest response collected into one write; larger ones are written as
// net/http writes them (a copy would cost more than the call it saves).
const maxCoalesced = 64 << 10

// coalescingListener wraps every plain TCP connection it accepts in a coalescingConn.
type coalescingListener struct{ net.Listener }

func (l coalescingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*tls.Conn); ok {
		return c, nil
	}
	return &coalescingConn{Conn: c}, nil
}

// coalescingConn is a connection whose writes can be held and sent together. Its methods are
// called from the connection's one serving goroutine (HTTP/1.x), so it needs no lock.
type coalescingConn struct {
	net.Conn
	holding bool
	held    []byte
}

type connKey struct{}

// connContext is http.Server.ConnContext: it makes a coalescingConn findable from its requests.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*coalescingConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	if c.holding {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// ReadFrom keeps the underlying connection's ReadFrom (sendfile for spooled outputs) when not
// holding.
func (c *coalescingConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok && !c.holding {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// CloseWrite keeps the underlying connection's half-close, which net/http uses when it closes
// a connection after an error.
func (c *coalescingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// hold starts collecting writes.
func (c *coalescingConn) hold(size int) {
	c.holding = true
	if cap(c.held) < size {
		c.held = make([]byte, 0, size)
	}
}

// release stops collecting and writes what was collected, in one call.
func (c *coalescingConn) release() error {
	c.holding = false
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	if cap(c.held) > maxCoalesced+8<<10 { // a header of unusual size; do not keep it
		c.held = nil
	}
	return err
}

// writeWhole writes a response of body, whose header w already holds, and returns any error
// writing it. On a coalescingConn of HTTP/1.x and for a body up to maxCoalesced bytes, the
// status line, the header and the body leave in one write.
func writeWhole(w http.ResponseWriter, r *http.Request, status int, body []byte) error {
	cc, _ := r.Context().Value(connKey{}).(*coalescingConn)
	if cc == nil || r.ProtoMajor != 1 || len(body) > maxCoalesced {
		w.WriteHeader(status)
		_, err := w.Write(body)
		return err
	}
	cc.hold(len(body) + 1024)
	w.WriteHeader(status)
	_, err := w.Write(body)
	if err == nil {
		err = http.NewResponseController(w).Flush()
	}
	if rerr := cc.release(); err == nil {
		err = rerr
	}
	return err
}
