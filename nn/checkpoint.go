package nn

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/xent-go/xent/internal/atomicfile"
)

// Checkpoint file format, version 1. All integers are little-endian.
//
//	offset  size  field
//	0       8     magic "XENTNNCK"
//	8       4     version (1)
//	12      4     header length H (≤ 1 MiB)
//	16      H     header: JSON of checkpointHeader
//	…       8     parameter count P
//	…       4·P   parameters, float32
//	…       4     optimiser buffer count B (≤ 8)
//	…             B × (8-byte count Q, 4·Q bytes of float32)
//	…       4     CRC-32 (Castagnoli) of every byte before it
//
// A reader checks the magic, the version and the checksum before it
// trusts any length, and checks every length against the bytes that are
// actually there, so that a truncated or corrupt file is refused with an
// error (ErrCheckpoint) and never makes it allocate more than the file's
// size.
const (
	checkpointMagic   = "XENTNNCK"
	checkpointVersion = 1
	maxHeaderLen      = 1 << 20
	maxOptBuffers     = 8
	// MaxCheckpointSize is the largest checkpoint ReadCheckpoint accepts.
	MaxCheckpointSize = 1 << 32
)

// ErrCheckpoint is wrapped by every error about a malformed, truncated or
// corrupt checkpoint, or one that does not fit the network.
var ErrCheckpoint = errors.New("bad checkpoint")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint is the state needed to resume training.
type Checkpoint struct {
	// Arch is the network's Arch(); Restore refuses another network.
	Arch string
	// Meta is the caller's configuration (for example the training flags
	// as JSON); opaque to this package.
	Meta []byte
	// Epoch is the number of completed epochs (the caller's count).
	Epoch int
	// Steps is the network's training step count.
	Steps uint64
	// RNG is the state of the network's PCG generator.
	RNG []byte
	// Params is a copy of the flat parameter buffer.
	Params []float32
	// Opt is the optimiser's state (kind, step count, buffers).
	Opt OptimizerState
}

// checkpointHeader is the JSON header of the file.
type checkpointHeader struct {
	Arch     string `json:"arch"`
	Meta     []byte `json:"meta,omitempty"`
	Epoch    int    `json:"epoch"`
	Steps    uint64 `json:"steps"`
	RNG      []byte `json:"rng"`
	OptKind  string `json:"opt_kind,omitempty"`
	OptSteps int64  `json:"opt_steps"`
}

// Snapshot returns a Checkpoint of the network and the optimiser (which
// may be nil) at the given epoch, with the caller's meta. The parameters
// and buffers are copied.
func (net *Net) Snapshot(opt Optimizer, epoch int, meta []byte) (*Checkpoint, error) {
	rng, err := net.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("nn: saving the random generator: %w", err)
	}
	c := &Checkpoint{
		Arch:   net.Arch(),
		Meta:   append([]byte(nil), meta...),
		Epoch:  epoch,
		Steps:  net.step,
		RNG:    rng,
		Params: append([]float32(nil), net.params...),
	}
	if opt != nil {
		s := opt.State()
		c.Opt = OptimizerState{Kind: s.Kind, Steps: s.Steps}
		for _, b := range s.Buffers {
			c.Opt.Buffers = append(c.Opt.Buffers, append([]float32(nil), b...))
		}
	}
	return c, nil
}

// Restore loads c into the network and the optimiser (which may be nil).
// It checks everything before changing anything: on error the network and
// the optimiser are as they were.
func (net *Net) Restore(c *Checkpoint, opt Optimizer) error {
	if c.Arch != net.Arch() {
		return fmt.Errorf("nn: %w: it is for the network %q, not %q", ErrCheckpoint, c.Arch, net.Arch())
	}
	if len(c.Params) != len(net.params) {
		return fmt.Errorf("nn: %w: %d parameters, the network has %d", ErrCheckpoint, len(c.Params), len(net.params))
	}
	for i, v := range c.Params {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("nn: %w: parameter %d is %v", ErrCheckpoint, i, v)
		}
	}
	pcg := new(rand.PCG)
	if err := pcg.UnmarshalBinary(c.RNG); err != nil {
		return fmt.Errorf("nn: %w: random generator state: %v", ErrCheckpoint, err)
	}
	if opt != nil {
		if c.Opt.Kind == "" {
			return fmt.Errorf("nn: %w: it holds no optimiser state", ErrCheckpoint)
		}
		if err := opt.SetState(c.Opt, len(net.params)); err != nil {
			return fmt.Errorf("nn: %w: %v", ErrCheckpoint, err)
		}
	}
	copy(net.params, c.Params)
	*net.pcg = *pcg
	net.step = c.Steps
	return nil
}

// WriteTo writes c in the checkpoint format. It returns the number of
// bytes written.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	hdr, err := json.Marshal(checkpointHeader{
		Arch: c.Arch, Meta: c.Meta, Epoch: c.Epoch, Steps: c.Steps, RNG: c.RNG,
		OptKind: c.Opt.Kind, OptSteps: c.Opt.Steps,
	})
	if err != nil {
		return 0, fmt.Errorf("nn: checkpoint header: %w", err)
	}
	if len(hdr) > maxHeaderLen {
		return 0, fmt.Errorf("nn: checkpoint header of %d bytes is over the %d limit (meta too large?)", len(hdr), maxHeaderLen)
	}
	if len(c.Opt.Buffers) > maxOptBuffers {
		return 0, fmt.Errorf("nn: %d optimiser buffers, at most %d", len(c.Opt.Buffers), maxOptBuffers)
	}
	crc := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(w, crc)}
	var b [8]byte
	cw.Write([]byte(checkpointMagic))
	binary.LittleEndian.PutUint32(b[:4], checkpointVersion)
	cw.Write(b[:4])
	binary.LittleEndian.PutUint32(b[:4], uint32(len(hdr)))
	cw.Write(b[:4])
	cw.Write(hdr)
	writeFloats(cw, c.Params)
	binary.LittleEndian.PutUint32(b[:4], uint32(len(c.Opt.Buffers)))
	cw.Write(b[:4])
	for _, buf := range c.Opt.Buffers {
		writeFloats(cw, buf)
	}
	binary.LittleEndian.PutUint32(b[:4], crc.Sum32())
	n, err := w.Write(b[:4])
	cw.n += int64(n)
	if cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

// countWriter counts bytes and keeps the first error, so that the writes
// above need no checks of their own.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

// Write implements io.Writer.
func (cw *countWriter) Write(p []byte) (int, error) {
	if cw.err != nil {
		return 0, cw.err
	}
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	cw.err = err
	return n, err
}

// writeFloats writes an 8-byte count and the values, in chunks.
func writeFloats(w io.Writer, s []float32) {
	var buf [4096]byte
	binary.LittleEndian.PutUint64(buf[:8], uint64(len(s)))
	w.Write(buf[:8])
	for len(s) > 0 {
		k := min(len(s), len(buf)/4)
		for i, v := range s[:k] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		w.Write(buf[:4*k])
		s = s[k:]
	}
}

// ReadCheckpoint reads a checkpoint written by WriteTo. It refuses, with
// an error wrapping ErrCheckpoint, a file that is not a checkpoint, of
// another version, truncated, with a checksum that does not match, or with
// lengths that do not add up. It reads at most MaxCheckpointSize bytes and
// allocates no more than it reads (plus the decoded values).
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCheckpointSize+1))
	if err != nil {
		return nil, fmt.Errorf("nn: reading checkpoint: %w", err)
	}
	if len(data) > MaxCheckpointSize {
		return nil, fmt.Errorf("nn: %w: larger than %d bytes", ErrCheckpoint, int64(MaxCheckpointSize))
	}
	return parseCheckpoint(data)
}

func parseCheckpoint(data []byte) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("nn: %w: %s", ErrCheckpoint, fmt.Sprintf(format, args...))
	}
	if len(data) < len(checkpointMagic) || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return nil, bad("not a checkpoint file (no %q magic)", checkpointMagic)
	}
	if len(data) < 16+8+4+4 {
		return nil, bad("truncated: %d bytes", len(data))
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != checkpointVersion {
		return nil, bad("version %d, this program reads version %d", v, checkpointVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, bad("checksum mismatch (stored %08x, computed %08x): the file is truncated or corrupt", sum, got)
	}
	rd := &byteReader{b: body[12:], off: 12}
	hlen, err := rd.u32()
	if err != nil {
		return nil, bad("%v", err)
	}
	if hlen > maxHeaderLen {
		return nil, bad("header length %d is over the %d limit", hlen, maxHeaderLen)
	}
	hb, err := rd.bytes(int(hlen))
	if err != nil {
		return nil, bad("header: %v", err)
	}
	var h checkpointHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, bad("header: %v", err)
	}
	c := &Checkpoint{Arch: h.Arch, Meta: h.Meta, Epoch: h.Epoch, Steps: h.Steps, RNG: h.RNG,
		Opt: OptimizerState{Kind: h.OptKind, Steps: h.OptSteps}}
	if c.Params, err = rd.floats(); err != nil {
		return nil, bad("parameters: %v", err)
	}
	nb, err := rd.u32()
	if err != nil {
		return nil, bad("optimiser buffer count: %v", err)
	}
	if nb > maxOptBuffers {
		return nil, bad("%d optimiser buffers, at most %d", nb, maxOptBuffers)
	}
	for i := 0; i < int(nb); i++ {
		buf, err := rd.floats()
		if err != nil {
			return nil, bad("optimiser buffer %d: %v", i, err)
		}
		c.Opt.Buffers = append(c.Opt.Buffers, buf)
	}
	if len(rd.b) != 0 {
		return nil, bad("%d unexpected bytes after the last section at offset %d", len(rd.b), rd.off)
	}
	return c, nil
}

// byteReader reads little-endian values from b, refusing to read past it.
type byteReader struct {
	b   []byte
	off int // offset of b[0] in the file, for messages
}

func (r *byteReader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, fmt.Errorf("needs %d bytes at offset %d, only %d left", n, r.off, len(r.b))
	}
	p := r.b[:n]
	r.b = r.b[n:]
	r.off += n
	return p, nil
}

func (r *byteReader) u32() (uint32, error) {
	p, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (r *byteReader) floats() ([]float32, error) {
	p, err := r.bytes(8)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(p)
	if n > uint64(len(r.b)/4) {
		return nil, fmt.Errorf("count %d at offset %d needs %d bytes, only %d left", n, r.off-8, n*4, len(r.b))
	}
	p, _ = r.bytes(int(n) * 4)
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return s, nil
}

// SaveCheckpoint writes a checkpoint of the network and the optimiser
// (which may be nil) to path atomically: a temporary file in the same
// directory, synced, then renamed over path.
func SaveCheckpoint(path string, net *Net, opt Optimizer, epoch int, meta []byte) error {
	c, err := net.Snapshot(opt, epoch, meta)
	if err != nil {
		return err
	}
	err = atomicfile.WriteFile(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("nn: saving checkpoint %s: %w", path, err)
	}
	return nil
}

// LoadCheckpoint reads the checkpoint at path and restores it into the
// network and the optimiser (which may be nil). It returns the epoch and
// the caller's meta that were saved. On error (missing, malformed or
// corrupt file, or one for another network) nothing is changed and the
// error names the file.
func LoadCheckpoint(path string, net *Net, opt Optimizer) (epoch int, meta []byte, err error) {
	c, err := ReadCheckpointFile(path)
	if err != nil {
		return 0, nil, err
	}
	if err := net.Restore(c, opt); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c.Epoch, c.Meta, nil
}

// ReadCheckpointFile reads and checks the checkpoint at path; see
// ReadCheckpoint.
func ReadCheckpointFile(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	defer f.Close()
	c, err := ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
