package gpu

import (
	"context"
	"testing"
	"time"
)

type countingBackend struct{ n int }

func (c *countingBackend) Name() string { return "count" }
func (c *countingBackend) Close() error { return nil }
func (c *countingBackend) Snapshot(context.Context) (*Snapshot, error) {
	c.n++
	return &Snapshot{}, nil
}

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	b := &countingBackend{}
	c := NewCache(b, 2*time.Second, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if _, err := c.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if b.n != 1 {
		t.Errorf("%d reads, want 1", b.n)
	}
	now = now.Add(2 * time.Second)
	if _, err := c.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.n != 2 {
		t.Errorf("%d reads after maxAge, want 2", b.n)
	}
}

func TestThrottleStates(t *testing.T) {
	s := ThrottleStates(0x1 | 0x100 | 0x8000)
	if len(s) != 9 || !s[0].Active || !s[8].Active || s[1].Active {
		t.Errorf("%+v", s)
	}
}
