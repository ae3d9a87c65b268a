package main

// A small, strict reader and writer for NumPy .npy files.
//
// The reader validates the whole header before it allocates anything: the
// magic string, the format version (1.0, 2.0 or 3.0), the header length
// against the file size, the dictionary (exactly the keys 'descr',
// 'fortran_order' and 'shape', each once), the dtype, the memory order, and
// the shape, whose element count and byte size must fit in an int64 and
// match the bytes that follow the header exactly. Only the four dtypes the
// command uses are accepted (float32, float64, int32, int64, either byte
// order), and only C order. A malformed file is an error, never a panic.
//
// codeberg.org/sbinet/npyio is not used to decode: its header parser can
// panic on malformed headers and its element readers ignore a short read.
// The files written here are read back by npyio in the tests.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxHeaderLen bounds the header dictionary; NumPy's own reader refuses
// headers above 10000 bytes by default.
const maxHeaderLen = 1 << 16

// dtype is an element type of an .npy array that the command understands.
type dtype int

const (
	float32Type dtype = iota + 1
	float64Type
	int32Type
	int64Type
)

func (d dtype) String() string {
	switch d {
	case float32Type:
		return "float32"
	case float64Type:
		return "float64"
	case int32Type:
		return "int32"
	case int64Type:
		return "int64"
	}
	return "unknown"
}

func (d dtype) size() int64 {
	switch d {
	case float32Type, int32Type:
		return 4
	case float64Type, int64Type:
		return 8
	}
	return 0
}

func (d dtype) isFloat() bool { return d == float32Type || d == float64Type }

// descrCode is the little-endian descr written for d.
func (d dtype) descrCode() string {
	switch d {
	case float32Type:
		return "<f4"
	case float64Type:
		return "<f8"
	case int32Type:
		return "<i4"
	case int64Type:
		return "<i8"
	}
	return ""
}

// npyArray is a decoded .npy array. Exactly one of the slices is set, the one
// of Dtype.
type npyArray struct {
	Dtype dtype
	Shape []int
	F32   []float32
	F64   []float64
	I32   []int32
	I64   []int64
}

// Len returns the number of elements.
func (a *npyArray) Len() int {
	switch a.Dtype {
	case float32Type:
		return len(a.F32)
	case float64Type:
		return len(a.F64)
	case int32Type:
		return len(a.I32)
	case int64Type:
		return len(a.I64)
	}
	return 0
}

// Data returns the array's one non-nil slice ([]float32, []float64,
// []int32 or []int64), or nil.
func (a *npyArray) Data() any {
	switch a.Dtype {
	case float32Type:
		return a.F32
	case float64Type:
		return a.F64
	case int32Type:
		return a.I32
	case int64Type:
		return a.I64
	}
	return nil
}

// npyHeader is the validated content of an .npy header.
type npyHeader struct {
	Dtype     dtype
	BigEndian bool
	Shape     []int
	Count     int64 // product of Shape
	DataOff   int64 // offset of the first data byte
}

// readNpyFile reads and validates the .npy file at path. Errors name the file.
func readNpyFile(path string) (*npyArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	a, err := readNpy(bufio.NewReaderSize(f, 1<<16), fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// readNpy reads an .npy stream of exactly size bytes.
func readNpy(r io.Reader, size int64) (*npyArray, error) {
	h, err := readNpyHeader(r, size)
	if err != nil {
		return nil, err
	}
	return readNpyData(r, h)
}

// readNpyHeader reads and validates the header of an .npy stream of exactly
// size bytes, leaving r at the first data byte.
func readNpyHeader(r io.Reader, size int64) (*npyHeader, error) {
	var pre [8]byte
	if size < int64(len(pre)) {
		return nil, fmt.Errorf("not an .npy file: %d bytes, shorter than the 8-byte preamble", size)
	}
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("reading the preamble: %w", noEOF(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("not an .npy file: bad magic %q at offset 0 (want %q)", pre[:6], npyMagic)
	}
	major, minor := pre[6], pre[7]
	var hlen, off int64
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading the header length at offset 8: %w", noEOF(err))
		}
		hlen, off = int64(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("reading the header length at offset 8: %w", noEOF(err))
		}
		hlen, off = int64(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if minor != 0 {
		return nil, fmt.Errorf("unsupported .npy format version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > maxHeaderLen {
		return nil, fmt.Errorf("header length %d is larger than the limit of %d bytes", hlen, maxHeaderLen)
	}
	if off+hlen > size {
		return nil, fmt.Errorf("truncated header: it claims %d bytes but the file has %d after the preamble", hlen, max(size-off, 0))
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("reading the header: %w", noEOF(err))
	}
	h, err := parseNpyDict(hdr, major)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	h.DataOff = off + hlen
	// Count·size must fit in int64 and match the data that follows.
	esize := h.Dtype.size()
	if h.Count > math.MaxInt64/esize {
		return nil, fmt.Errorf("header: shape %s is too large", shapeString(h.Shape))
	}
	want := h.Count * esize
	if have := size - h.DataOff; have != want {
		return nil, fmt.Errorf("shape %s of %s needs %d data bytes but the file has %d after the header (truncated or lying header)",
			shapeString(h.Shape), h.Dtype, want, have)
	}
	if h.Count > int64(math.MaxInt) {
		return nil, fmt.Errorf("shape %s is too large for this platform", shapeString(h.Shape))
	}
	return h, nil
}

// parseNpyDict parses the header dictionary, for example
// {'descr': '<f4', 'fortran_order': False, 'shape': (4, 5), }
// followed by spaces and one newline.
func parseNpyDict(hdr []byte, major byte) (*npyHeader, error) {
	if major < 3 {
		for i, c := range hdr {
			if c >= 0x80 {
				return nil, fmt.Errorf("non-ASCII byte 0x%02x at header byte %d", c, i)
			}
		}
	}
	if len(hdr) == 0 || hdr[len(hdr)-1] != '\n' {
		return nil, errors.New("the header does not end with a newline")
	}
	p := &dictParser{s: string(hdr[:len(hdr)-1])}
	var (
		h                               npyHeader
		haveDescr, haveOrder, haveShape bool
		descr                           string
		fortran                         bool
	)
	p.space()
	if !p.eat('{') {
		return nil, p.errorf("want '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat(':') {
			return nil, p.errorf("want ':' after key %s", pyQuote(key))
		}
		p.space()
		switch key {
		case "descr":
			if haveDescr {
				return nil, errors.New("duplicate key 'descr'")
			}
			haveDescr = true
			if descr, err = p.str(); err != nil {
				return nil, fmt.Errorf("'descr' (structured dtypes are not supported): %w", err)
			}
		case "fortran_order":
			if haveOrder {
				return nil, errors.New("duplicate key 'fortran_order'")
			}
			haveOrder = true
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
				fortran = false
			default:
				return nil, p.errorf("'fortran_order' must be True or False")
			}
		case "shape":
			if haveShape {
				return nil, errors.New("duplicate key 'shape'")
			}
			haveShape = true
			if h.Shape, h.Count, err = p.shape(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected key %s (want only 'descr', 'fortran_order', 'shape')", pyQuote(key))
		}
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat('}') {
			return nil, p.errorf("want ',' or '}'")
		}
		break
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected text after the dictionary")
	}
	switch {
	case !haveDescr:
		return nil, errors.New("missing key 'descr'")
	case !haveOrder:
		return nil, errors.New("missing key 'fortran_order'")
	case !haveShape:
		return nil, errors.New("missing key 'shape'")
	}
	if fortran {
		return nil, errors.New("Fortran-order (column-major) arrays are not supported; save a C-order array (numpy.ascontiguousarray)")
	}
	var err error
	if h.Dtype, h.BigEndian, err = parseDescr(descr); err != nil {
		return nil, err
	}
	return &h, nil
}

// parseDescr maps a dtype string such as '<f4' to a dtype and byte order.
func parseDescr(s string) (dtype, bool, error) {
	bad := fmt.Errorf("dtype %s is not supported (want float32, float64, int32 or int64)", pyQuote(s))
	if len(s) != 3 {
		return 0, false, bad
	}
	var big bool
	switch s[0] {
	case '<':
	case '>':
		big = true
	case '=':
		// native order; every platform Go targets for this command
		// stores NumPy files little-endian in practice, but be exact.
		big = !littleEndianHost
	default:
		return 0, false, bad
	}
	switch s[1:] {
	case "f4":
		return float32Type, big, nil
	case "f8":
		return float64Type, big, nil
	case "i4":
		return int32Type, big, nil
	case "i8":
		return int64Type, big, nil
	}
	return 0, false, bad
}

var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// dictParser is a cursor over the text of a header dictionary.
type dictParser struct {
	s string
	i int
}

func (p *dictParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at header byte %d", fmt.Sprintf(format, args...), p.i)
}

func (p *dictParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *dictParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word consumes w when it is followed by a delimiter.
func (p *dictParser) word(w string) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	j := p.i + len(w)
	if j < len(p.s) && (isAlnum(p.s[j]) || p.s[j] == '_') {
		return false
	}
	p.i = j
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// str reads a Python string literal in single or double quotes, without
// escapes (none of the values we accept need them).
func (p *dictParser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", p.errorf("want a quoted string")
	}
	q := p.s[p.i]
	j := strings.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", p.errorf("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+j]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", p.errorf("escapes in strings are not supported")
	}
	p.i += j + 2
	return v, nil
}

// shape reads a tuple of non-negative integers: (), (3,), (3, 4), (3, 4,).
// It returns the dimensions and their product, refusing a product that
// overflows int64.
func (p *dictParser) shape() ([]int, int64, error) {
	if !p.eat('(') {
		return nil, 0, p.errorf("'shape' must be a tuple")
	}
	dims := []int{}
	count := int64(1)
	for {
		p.space()
		if p.eat(')') {
			break
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, 0, p.errorf("'shape' must hold non-negative integers")
		}
		d, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil || d > int64(math.MaxInt) {
			return nil, 0, fmt.Errorf("'shape' dimension %s is too large", p.s[start:p.i])
		}
		if len(dims) >= 32 {
			return nil, 0, errors.New("'shape' has more than 32 dimensions")
		}
		if d != 0 && count > math.MaxInt64/d {
			return nil, 0, errors.New("'shape' element count overflows int64")
		}
		count *= d
		dims = append(dims, int(d))
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat(')') {
			return nil, 0, p.errorf("want ',' or ')' in 'shape'")
		}
		break
	}
	if len(dims) == 1 && !strings.HasSuffix(strings.TrimRight(p.s[:p.i-1], " "), ",") {
		// (3) is an integer in Python, not a tuple.
		return nil, 0, p.errorf("'shape' (%d) is not a tuple; a 1-tuple is written (%d,)", dims[0], dims[0])
	}
	return dims, count, nil
}

// readNpyData decodes h.Count elements from r.
func readNpyData(r io.Reader, h *npyHeader) (*npyArray, error) {
	n := int(h.Count)
	a := &npyArray{Dtype: h.Dtype, Shape: h.Shape}
	var bo binary.ByteOrder = binary.LittleEndian
	if h.BigEndian {
		bo = binary.BigEndian
	}
	esize := int(h.Dtype.size())
	switch h.Dtype {
	case float32Type:
		a.F32 = make([]float32, n)
	case float64Type:
		a.F64 = make([]float64, n)
	case int32Type:
		a.I32 = make([]int32, n)
	case int64Type:
		a.I64 = make([]int64, n)
	}
	buf := make([]byte, 1<<16)
	for i := 0; i < n; {
		k := min(n-i, len(buf)/esize)
		b := buf[:k*esize]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("reading data at offset %d: %w", h.DataOff+int64(i)*int64(esize), noEOF(err))
		}
		switch h.Dtype {
		case float32Type:
			for j := range k {
				a.F32[i+j] = math.Float32frombits(bo.Uint32(b[j*4:]))
			}
		case float64Type:
			for j := range k {
				a.F64[i+j] = math.Float64frombits(bo.Uint64(b[j*8:]))
			}
		case int32Type:
			for j := range k {
				a.I32[i+j] = int32(bo.Uint32(b[j*4:]))
			}
		case int64Type:
			for j := range k {
				a.I64[i+j] = int64(bo.Uint64(b[j*8:]))
			}
		}
		i += k
	}
	return a, nil
}

// pyQuote quotes s as Python would for plain text ('x'), and falls back to
// Go quoting for anything unusual.
func pyQuote(s string) string {
	for _, c := range s {
		if c < ' ' || c > '~' || c == '\'' || c == '\\' {
			return strconv.Quote(s)
		}
	}
	return "'" + s + "'"
}

// noEOF turns a premature end of file into a readable error.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}

// shapeString writes a shape as NumPy does: (), (3,), (3, 4).
func shapeString(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// writeNpy writes a C-order, little-endian, version 1.0 .npy file holding
// data (a []float32, []float64, []int32 or []int64) with the given shape.
// The header is padded so that the data starts at a multiple of 64 bytes,
// as NumPy does.
func writeNpy(w io.Writer, shape []int, data any) error {
	var dt dtype
	var n int
	switch d := data.(type) {
	case []float32:
		dt, n = float32Type, len(d)
	case []float64:
		dt, n = float64Type, len(d)
	case []int32:
		dt, n = int32Type, len(d)
	case []int64:
		dt, n = int64Type, len(d)
	default:
		return fmt.Errorf("npy: unsupported data type %T", data)
	}
	count := 1
	for _, d := range shape {
		count *= d
	}
	if count != n {
		return fmt.Errorf("npy: shape %s holds %d elements, data has %d", shapeString(shape), count, n)
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dt.descrCode(), shapeString(shape))
	total := len(npyMagic) + 4 + len(dict) + 1
	pad := (64 - total%64) % 64
	var hdr bytes.Buffer
	hdr.WriteString(npyMagic)
	hdr.Write([]byte{1, 0})
	hlen := len(dict) + pad + 1
	if hlen > math.MaxUint16 {
		return errors.New("npy: header too long")
	}
	hdr.Write(binary.LittleEndian.AppendUint16(nil, uint16(hlen)))
	hdr.WriteString(dict)
	hdr.Write(bytes.Repeat([]byte{' '}, pad))
	hdr.WriteByte('\n')
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	esize := int(dt.size())
	for i := range n {
		if len(buf)+esize > cap(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
		switch d := data.(type) {
		case []float32:
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(d[i]))
		case []float64:
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(d[i]))
		case []int32:
			buf = binary.LittleEndian.AppendUint32(buf, uint32(d[i]))
		case []int64:
			buf = binary.LittleEndian.AppendUint64(buf, uint64(d[i]))
		}
	}
	return flush()
}
