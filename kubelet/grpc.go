package kubelet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// A unary gRPC call is one HTTP/2 POST: a length-prefixed request message
// out, a length-prefixed answer and a grpc-status trailer back
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md). The
// kubelet's pod-resources socket speaks HTTP/2 without TLS, which
// net/http's Transport has spoken since Go 1.24 (Protocols'
// UnencryptedHTTP2), so the one call the node agent makes is written here
// over net/http instead of linking grpc-go for it (see podresources.go).

// grpcStatusError is a call the server answered with a non-OK grpc-status.
type grpcStatusError struct {
	code    int
	message string
}

// grpcCodes names the codes a kubelet answers with
// (google.golang.org/grpc/codes).
var grpcCodes = map[int]string{
	1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded",
	5: "NotFound", 7: "PermissionDenied", 8: "ResourceExhausted",
	9: "FailedPrecondition", 12: "Unimplemented", 13: "Internal",
	14: "Unavailable", 16: "Unauthenticated",
}

func (e *grpcStatusError) Error() string {
	name, ok := grpcCodes[e.code]
	if !ok {
		name = "code " + strconv.Itoa(e.code)
	}
	if e.message == "" {
		return "gRPC status " + name
	}
	return "gRPC status " + name + ": " + e.message
}

// Is makes a kubelet's DeadlineExceeded match context.DeadlineExceeded, as
// a deadline that passed on this side does.
func (e *grpcStatusError) Is(target error) bool {
	return e.code == 4 && target == context.DeadlineExceeded
}

// newUnixH2Transport returns a Transport that speaks HTTP/2 without TLS
// (prior knowledge) over the unix socket at path, whatever the URL's host.
func newUnixH2Transport(path string) *http.Transport {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	var d net.Dialer
	return &http.Transport{
		Protocols: &protocols,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		// One kubelet, one connection, reused by every call.
		MaxIdleConns:    1,
		IdleConnTimeout: 5 * time.Minute,
	}
}

// unaryCall calls method (e.g. "/v1.PodResourcesLister/List") with the
// encoded request req and returns the encoded answer, at most limit bytes.
func unaryCall(ctx context.Context, hc *http.Client, method string, req []byte, limit int) ([]byte, error) {
	body := make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(body[1:], uint32(len(req))) // byte 0: not compressed
	body = append(body, req...)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost"+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/grpc")
	r.Header.Set("TE", "trailers")
	if deadline, ok := ctx.Deadline(); ok {
		r.Header.Set("Grpc-Timeout", grpcTimeout(time.Until(deadline)))
	}
	resp, err := hc.Do(r)
	if err != nil {
		// Not `Post "http://localhost/v1.PodResourcesLister/List": …`:
		// the URL is made up, the socket is in the caller's message.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, deadlineErr(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s, not a gRPC answer", resp.Status)
	}
	// A call that fails at once answers with headers alone ("Trailers-Only").
	if err := statusOf(resp.Header); err != nil {
		return nil, err
	}
	msg, readErr := readMessage(resp.Body, limit)
	if readErr == nil {
		// The trailer comes after the body's end, which a unary answer
		// reaches after its one message.
		if n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1)); err != nil {
			readErr = fmt.Errorf("reading the answer: %w", err)
		} else if n > 0 {
			readErr = errors.New("answer has more than one message")
		}
	}
	// grpc-status says why a call ended early, so it goes before a read error.
	if err := statusOf(resp.Trailer); err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, deadlineErr(ctx, readErr)
	}
	if resp.Trailer.Get("Grpc-Status") == "" {
		return nil, errors.New("answer ended without a gRPC status")
	}
	return msg, nil
}

// deadlineErr says that a call failed at its deadline when it did: the
// kubelet, told the deadline by grpc-timeout, may reset the stream just
// before the context's own timer fires.
func deadlineErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
	}
	return err
}

// readMessage reads the one length-prefixed message of a unary answer.
func readMessage(r io.Reader, limit int) ([]byte, error) {
	var prefix [5]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("answer has no message")
		}
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if prefix[0] != 0 {
		// Nothing asked for compression (no grpc-accept-encoding).
		return nil, fmt.Errorf("answer is compressed (flag %d), which was not asked for", prefix[0])
	}
	n := binary.BigEndian.Uint32(prefix[1:])
	if uint64(n) > uint64(limit) {
		return nil, fmt.Errorf("answer of %d bytes is over the %d-byte limit", n, limit)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("reading the answer's %d bytes: %w", n, err)
	}
	return msg, nil
}

// statusOf returns the error a grpc-status field in h says, nil when it is
// absent or 0 (OK).
func statusOf(h http.Header) error {
	s := h.Get("Grpc-Status")
	if s == "" || s == "0" {
		return nil
	}
	code, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid grpc-status %q", s)
	}
	// grpc-message is percent-encoded; a bad escape is kept as sent.
	msg := h.Get("Grpc-Message")
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	return &grpcStatusError{code: code, message: msg}
}

// grpcTimeout writes d as a grpc-timeout value: at most 8 digits and a
// unit.
func grpcTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"n", time.Nanosecond}, {"u", time.Microsecond}, {"m", time.Millisecond}, {"S", time.Second}, {"M", time.Minute}} {
		v := d / u.d // rounded up below, so that a timeout is never shortened
		if d%u.d != 0 {
			v++
		}
		if v < 1e8 {
			return strconv.FormatInt(int64(v), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(d/time.Hour+1), 10) + "H" // < 1e8 for any Duration
}
