package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// trainedNet returns a tiny network and its Adam after three steps.
func trainedNet(t *testing.T) (*Net, *Adam) {
	t.Helper()
	net := tinyLeNet(t, 2, 0.25)
	opt := NewAdam(0.01)
	for s := 0; s < 3; s++ {
		x, labels := randomBatch(uint64(s), 6, net)
		if _, err := net.TrainStep(x, Targets{Labels: labels}, opt); err != nil {
			t.Fatal(err)
		}
	}
	return net, opt
}

func TestCheckpointRoundTrip(t *testing.T) {
	net, opt := trainedNet(t)
	path := filepath.Join(t.TempDir(), "ck.bin")
	meta := []byte(`{"lr":0.01}`)
	if err := SaveCheckpoint(path, net, opt, 4, meta); err != nil {
		t.Fatal(err)
	}
	// A fresh network of the same shape, another seed, and a fresh Adam.
	net2 := tinyLeNet(t, 2, 0.25)
	net2.Rand().Uint64()
	opt2 := NewAdam(0.01)
	epoch, gotMeta, err := LoadCheckpoint(path, net2, opt2)
	if err != nil {
		t.Fatal(err)
	}
	if epoch != 4 || string(gotMeta) != string(meta) || net2.Steps() != 3 {
		t.Errorf("epoch %d meta %q steps %d", epoch, gotMeta, net2.Steps())
	}
	// Both continue identically: parameters, moments, RNG (dropout) restored.
	for s := 3; s < 6; s++ {
		x, labels := randomBatch(uint64(s), 6, net)
		l1, _ := net.TrainStep(x, Targets{Labels: labels}, opt)
		l2, _ := net2.TrainStep(x, Targets{Labels: labels}, opt2)
		if l1 != l2 {
			t.Fatalf("step %d: loss %v after resume, %v without", s, l2, l1)
		}
	}
	for i, v := range net.Params() {
		if math.Float32bits(v) != math.Float32bits(net2.Params()[i]) {
			t.Fatalf("param %d: %v vs %v", i, v, net2.Params()[i])
		}
	}
	if net.Rand().Uint64() != net2.Rand().Uint64() {
		t.Error("random generators differ after resume")
	}
}

func checkpointBytes(t *testing.T) []byte {
	t.Helper()
	net, opt := trainedNet(t)
	c, err := net.Snapshot(opt, 1, []byte("meta"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckpointTruncated(t *testing.T) {
	data := checkpointBytes(t)
	if _, err := ReadCheckpoint(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n += 1 + n/50 {
		_, err := ReadCheckpoint(bytes.NewReader(data[:n]))
		if !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrCheckpoint", n, len(data), err)
		}
	}
	_, err := ReadCheckpoint(bytes.NewReader(data[:len(data)-1]))
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("one byte short: %v", err)
	}
}

func TestCheckpointCorrupt(t *testing.T) {
	data := checkpointBytes(t)
	for i := 0; i < len(data); i += 1 + i/40 {
		bad := append([]byte(nil), data...)
		bad[i] ^= 0x10
		if _, err := ReadCheckpoint(bytes.NewReader(bad)); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("byte %d flipped: err = %v, want ErrCheckpoint", i, err)
		}
	}
	trail := resum(append(append([]byte(nil), data[:len(data)-4]...), 0, 0, 0, 0))
	if _, err := ReadCheckpoint(bytes.NewReader(trail)); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("extra bytes: err = %v", err)
	}
}

// resum appends a valid checksum to body, as a forger would.
func resum(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// TestCheckpointLyingLength: a count field that claims far more values
// than the file holds, with a valid checksum, is refused without trying
// to allocate them.
func TestCheckpointLyingLength(t *testing.T) {
	data := checkpointBytes(t)
	hlen := binary.LittleEndian.Uint32(data[12:])
	at := 16 + int(hlen) // the parameter count
	for _, lie := range []uint64{1 << 62, math.MaxUint64, 1 << 40} {
		bad := append([]byte(nil), data[:len(data)-4]...)
		binary.LittleEndian.PutUint64(bad[at:], lie)
		bad = resum(bad)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadCheckpoint(bytes.NewReader(bad))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "only") {
			t.Fatalf("count %d: err = %v", lie, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > uint64(8*len(bad)+1<<20) {
			t.Errorf("count %d: allocated %d bytes for a file of %d", lie, got, len(bad))
		}
	}
	bad := append([]byte(nil), data[:len(data)-4]...)
	binary.LittleEndian.PutUint32(bad[12:], 0xffffffff)
	if _, err := ReadCheckpoint(bytes.NewReader(resum(bad))); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("header length lie: err = %v", err)
	}
	bad = append([]byte(nil), data[:len(data)-4]...)
	binary.LittleEndian.PutUint32(bad[8:], 2)
	if _, err := ReadCheckpoint(bytes.NewReader(resum(bad))); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("version 2: err = %v", err)
	}
}

func TestCheckpointWrongNet(t *testing.T) {
	net, opt := trainedNet(t)
	path := filepath.Join(t.TempDir(), "ck.bin")
	if err := SaveCheckpoint(path, net, opt, 1, nil); err != nil {
		t.Fatal(err)
	}
	other, err := NewLeNet(LeNetConfig{Height: 8, Width: 8, Classes: 4, Conv1: 3, Conv2: 4, Hidden: 6, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), other.Params()...)
	if _, _, err := LoadCheckpoint(path, other, NewAdam(0.01)); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("other network: err = %v", err)
	}
	if _, _, err := LoadCheckpoint(path, tinyLeNet(t, 2, 0.25), NewSGD(0.1, 0.9, 0)); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("Adam state into SGD: err = %v", err)
	}
	for i := range before {
		if before[i] != other.Params()[i] {
			t.Fatal("a refused checkpoint changed the network")
		}
	}
	if _, _, err := LoadCheckpoint(filepath.Join(t.TempDir(), "none"), net, opt); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	os.WriteFile(path, []byte("hello, world, this is not a checkpoint"), 0o644)
	if _, _, err := LoadCheckpoint(path, net, opt); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), path) {
		t.Errorf("not a checkpoint: err = %v", err)
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	f.Add([]byte(checkpointMagic))
	f.Add(resum([]byte(checkpointMagic + "\x01\x00\x00\x00\x02\x00\x00\x00{}" + "\x00\x00\x00\x00\x00\x00\x00\x00" + "\x00\x00\x00\x00")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadCheckpoint(bytes.NewReader(data))
		if err == nil && c == nil {
			t.Fatal("nil checkpoint without error")
		}
	})
}
