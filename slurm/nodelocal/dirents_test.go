package nodelocal

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// dirent encodes one linux_dirent64 record, padded to 8 bytes as the
// kernel does.
func dirent(ino uint64, typ byte, name string) []byte {
	n := 19 + len(name) + 1
	n = (n + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b[0:8], ino)
	binary.NativeEndian.PutUint16(b[16:18], uint16(n))
	b[18] = typ
	copy(b[19:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	for _, d := range []struct {
		ino  uint64
		typ  byte
		name string
	}{{1, syscall.DT_DIR, "."}, {2, syscall.DT_DIR, ".."}, {42, syscall.DT_DIR, "job_42"}, {43, syscall.DT_REG, "cgroup.procs"}, {44, syscall.DT_UNKNOWN, "step_0"}} {
		buf = append(buf, dirent(d.ino, d.typ, d.name)...)
	}
	var got []string
	var inos []uint64
	if err := parseDirents(buf, func(name []byte, ino uint64, typ byte) {
		got = append(got, string(name))
		inos = append(inos, ino)
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"job_42", "cgroup.procs", "step_0"}; !slices.Equal(got, want) || !slices.Equal(inos, []uint64{42, 43, 44}) {
		t.Errorf("got %q %v, want %q [42 43 44]", got, inos, want)
	}
	// A record claiming more than the answer holds is an error, not a read past it.
	bad := dirent(7, syscall.DT_DIR, "job_7")
	binary.NativeEndian.PutUint16(bad[16:18], uint16(len(bad)+8))
	if err := parseDirents(bad, func([]byte, uint64, byte) {}); err == nil {
		t.Error("overlong record: no error")
	}
}

// TestListDirMatchesReadDir: the kernel's own answer, parsed, names what
// os.ReadDir names, directories as directories.
func TestListDirMatchesReadDir(t *testing.T) {
	dir := t.TempDir()
	for i := range 300 { // more than one getdents64 call's worth
		name := filepath.Join(dir, "job_"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if i%3 == 0 {
			if err := os.WriteFile(name, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Mkdir(name, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range entries {
		want[e.Name()] = e.IsDir()
	}
	got := map[string]bool{}
	if err := listDir(dir, make([]byte, 512), func(_ int, name []byte, _ uint64, isDir bool) { got[string(name)] = isDir }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listDir found %d entries, os.ReadDir %d", len(got), len(want))
	}
	for n, d := range want {
		if g, ok := got[n]; !ok || g != d {
			t.Errorf("%s: listDir dir=%v (found %v), os.ReadDir dir=%v", n, g, ok, d)
		}
	}
}

// FuzzParseDirents: any bytes give entries inside the input or an error,
// never a panic or a read past it.
func FuzzParseDirents(f *testing.F) {
	f.Add(append(dirent(42, syscall.DT_DIR, "job_42"), dirent(43, syscall.DT_REG, "cgroup.procs")...))
	f.Add(dirent(1, syscall.DT_DIR, "."))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseDirents(b, func(name []byte, _ uint64, _ byte) {
			if len(name) > len(b) {
				t.Fatalf("name of %d bytes from %d", len(name), len(b))
			}
			for _, c := range name {
				if c == 0 {
					t.Fatal("name holds a NUL")
				}
			}
		})
	})
}
