package main

// The corpus of malformed inputs in testdata/bad (at the repository root)
// is built here, so that it can be regenerated:
//
//	go test ./cmd/xent -run TestBadCorpusFiles -update-bad
//
// rewrites every file and testdata/bad/README.md from badCorpus. Without
// the flag, TestBadCorpusFiles only checks that the files on disk are
// exactly the ones badCorpus describes (none missing, none stale);
// TestBadCorpus (bad_test.go) runs the command on each.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xent-go/xent/data/mnist"
	"github.com/xent-go/xent/nn"
)

var updateBad = flag.Bool("update-bad", false, "regenerate the corpus in testdata/bad")

// badRoot is testdata/bad at the repository root, seen from cmd/xent.
var badRoot = filepath.Join("..", "..", "testdata", "bad")

// A badFile is one file of the corpus.
type badFile struct {
	path string // relative to testdata/bad, slash-separated
	data []byte
	why  string // what is wrong with it and the expected failure (README)
	// runs are the command lines that must fail because of this file.
	// "$BAD" stands for testdata/bad, "$OUT" for a fresh output folder
	// that must be left empty. A file without runs is a valid
	// counterpart or filler that other runs use.
	runs [][]string
	// ok are command lines that must succeed (the valid counterparts'
	// controls, so that a failure in runs is due to the bad file alone).
	ok [][]string
	// mention, when set, is what the error must contain instead of the
	// file's path (the data folder's path for idx files).
	mention string
	// readerOK marks a well-formed file that the readers accept
	// (readNpyFile, nn.ReadCheckpointFile, decodeMeta, Net.Restore) and
	// only the command refuses.
	readerOK bool
}

// Command lines shared by the corpus. The network is tiny (1 and 1
// channels, 2 hidden units) so that train and eval take milliseconds.
var (
	tinyNet   = []string{"--conv1", "1", "--conv2", "1", "--hidden", "2"}
	trainTiny = func(data string) []string {
		return append([]string{"train", "--data", data, "--out", "$OUT", "--limit", "1", "--test-limit", "1",
			"--epochs", "1", "--batch", "1", "--threads", "1"}, tinyNet...)
	}
	evalWith = func(model, data string) []string {
		return []string{"eval", "--model", model, "--data", data, "--threads", "1"}
	}
	resumeWith = func(model, data string) []string {
		return []string{"train", "--resume", model, "--data", data, "--out", "$OUT", "--epochs", "2"}
	}
)

// tinyConfig is the configuration stored in ckpt/valid.ckpt.
var tinyConfig = trainConfig{
	Task: "single", Loss: "softmax", TotalEpochs: 1, Batch: 1, LR: 1e-3, LRDecay: 1,
	Optimizer: "adam", Momentum: 0.9, Seed: 1, Threads: 1, Limit: 1, TestLimit: 1,
	Conv1: 1, Conv2: 1, Hidden: 2,
}

// badCorpus returns every file of testdata/bad except README.md.
func badCorpus() ([]badFile, error) {
	var files []badFile
	files = append(files, npyCorpus()...)
	files = append(files, idxCorpus()...)
	ck, err := ckptCorpus()
	if err != nil {
		return nil, err
	}
	files = append(files, ck...)
	return files, nil
}

// ---- .npy ----

// npyDict builds an .npy file (version 1.0, correct length field) from a
// header dictionary and data bytes.
func npyDict(dict string, data []byte) []byte { return rawNpy(dict, data) }

func npyOf(shape []int, data any) []byte {
	var b bytes.Buffer
	if err := writeNpy(&b, shape, data); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func le32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func npyCorpus() []badFile {
	const (
		L  = "$BAD/npy/valid/logits-f32.npy"  // (2, 3) float32
		T  = "$BAD/npy/valid/targets-i64.npy" // (2,) int64: [0, 2]
		D  = "$BAD/npy/valid/dense-f32.npy"   // (2, 3) float32 probabilities
		W  = "$BAD/npy/valid/weights-f32.npy" // (3,) float32
		L8 = "$BAD/npy/valid/logits-f64.npy"  // (2, 3) float64
	)
	loss := func(kind, logits, targets string, extra ...string) []string {
		return append([]string{"loss", "--kind", kind, "--logits", logits, "--targets", targets, "--out", "$OUT"}, extra...)
	}
	f32 := func(v ...float64) []float32 { return f32s(v...) }
	inf, ninf, nan := math.Inf(1), math.Inf(-1), math.NaN()
	validLogits := f32(1, 2, 3, -1, 0.5, 0)
	validBytes := npyOf([]int{2, 3}, validLogits)

	files := []badFile{
		{path: "npy/valid/logits-f32.npy", data: validBytes, why: "valid: float32 logits of shape (2, 3)",
			ok: [][]string{loss("index", L, T), loss("index", L, T, "--weights", W), loss("dense", L, D), loss("multilabel", L, D), loss("bce", L, D)}},
		{path: "npy/valid/logits-f64.npy", data: npyOf([]int{2, 3}, []float64{1, 2, 3, -1, 0.5, 0}), why: "valid: float64 logits of shape (2, 3)",
			ok: [][]string{loss("index", L8, T)}},
		{path: "npy/valid/targets-i64.npy", data: npyOf([]int{2}, []int64{0, 2}), why: "valid: int64 index targets [0, 2]"},
		{path: "npy/valid/dense-f32.npy", data: npyOf([]int{2, 3}, f32(0.2, 0.3, 0.5, 0, 0, 1)), why: "valid: float32 dense targets of shape (2, 3)"},
		{path: "npy/valid/weights-f32.npy", data: npyOf([]int{3}, f32(1, 2, 0.5)), why: "valid: float32 class weights of shape (3,)"},
	}

	// Malformed files: each is tried as the logits, the targets and the
	// weights, with valid files in the other roles.
	dict := func(descr, order, shape string) string {
		return fmt.Sprintf("{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, order, shape)
	}
	okDict := dict("'<f4'", "False", "(2, 3)")
	data := le32(validLogits...)
	withVersion := func(major, minor byte) []byte {
		b := slices.Clone(validBytes)
		b[6], b[7] = major, minor
		return b
	}
	lenPastEOF := slices.Clone(validBytes[:10])
	binary.LittleEndian.PutUint16(lenPastEOF[8:], 1000)
	lenPastEOF = append(lenPastEOF, "{'descr': '<f4', "...)
	v2Huge := []byte(npyMagic + "\x02\x00")
	v2Huge = binary.LittleEndian.AppendUint32(v2Huge, 1<<20)
	v2Huge = append(v2Huge, make([]byte, 64)...)
	nonASCII := npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x\xff\xfe': 1, }", data)
	noNewline := rawNpy(okDict, data)
	// Replace the final newline of the header with a space.
	hlen := int(binary.LittleEndian.Uint16(noNewline[8:]))
	noNewline[10+hlen-1] = ' '

	malformed := []struct {
		name string
		data []byte
		why  string
	}{
		{"empty.npy", nil, "0 bytes: shorter than the 8-byte preamble"},
		{"preamble-short.npy", []byte(npyMagic + "\x01"), "7 bytes: the preamble is cut after the major version"},
		{"header-len-field-truncated.npy", []byte(npyMagic + "\x01\x00\x76"), "the 2-byte header length field is cut after 1 byte"},
		{"bad-magic.npy", append([]byte("\x93NUMPZ"), validBytes[6:]...), "magic \\x93NUMPZ instead of \\x93NUMPY"},
		{"not-npy-text.npy", []byte("logits = [[1, 2, 3], [4, 5, 6]]\n"), "a text file, no magic"},
		{"version-4.0.npy", withVersion(4, 0), "format version 4.0 (only 1.0, 2.0, 3.0 exist)"},
		{"version-1.1.npy", withVersion(1, 1), "format version 1.1 (minor version must be 0)"},
		{"version-0.0.npy", withVersion(0, 0), "format version 0.0"},
		{"header-len-past-eof.npy", lenPastEOF, "the header length says 1000 bytes; the file ends after 17"},
		{"header-truncated.npy", validBytes[:40], "a valid file cut inside the header dictionary"},
		{"header-len-over-limit.npy", v2Huge, "version 2.0 header length of 1 MiB, over the 64 KiB limit (and past EOF)"},
		{"header-no-newline.npy", noNewline, "the header does not end with a newline"},
		{"header-not-dict.npy", npyDict("hello world", data), "the header is not a Python dictionary"},
		{"header-unterminated-string.npy", npyDict("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }", data), "an unterminated string in the header"},
		{"header-non-ascii.npy", nonASCII, "non-ASCII bytes 0xff 0xfe in a version 1.0 header"},
		{"header-nul-junk.npy", npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\x00\x00\x01junk", data), "NUL and control bytes and junk after the dictionary"},
		{"header-escape.npy", npyDict("{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (2, 3), }", data), "a backslash escape in a string"},
		{"key-missing-descr.npy", npyDict("{'fortran_order': False, 'shape': (2, 3), }", data), "no 'descr' key"},
		{"key-missing-fortran-order.npy", npyDict("{'descr': '<f4', 'shape': (2, 3), }", data), "no 'fortran_order' key"},
		{"key-missing-shape.npy", npyDict("{'descr': '<f4', 'fortran_order': False, }", data), "no 'shape' key"},
		{"key-extra.npy", npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1, }", data), "an extra key 'extra'"},
		{"key-duplicate-shape.npy", npyDict("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (3, 2), }", data), "'shape' twice"},
		{"key-duplicate-descr.npy", npyDict("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", data), "'descr' twice"},
		{"key-unquoted.npy", npyDict("{descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }", data), "an unquoted key"},
		{"dict-empty.npy", npyDict("{}", nil), "an empty dictionary"},
		{"descr-c8.npy", npyDict(dict("'<c8'", "False", "(2, 3)"), make([]byte, 48)), "dtype complex64 '<c8'"},
		{"descr-object.npy", npyDict(dict("'|O'", "False", "(2, 3)"), make([]byte, 48)), "dtype object '|O' (pickled data)"},
		{"descr-U3.npy", npyDict(dict("'<U3'", "False", "(2,)"), make([]byte, 24)), "dtype unicode string '<U3'"},
		{"descr-b1.npy", npyDict(dict("'|b1'", "False", "(2, 3)"), make([]byte, 6)), "dtype bool '|b1'"},
		{"descr-f2.npy", npyDict(dict("'<f2'", "False", "(2, 3)"), make([]byte, 12)), "dtype float16 '<f2'"},
		{"descr-u1.npy", npyDict(dict("'|u1'", "False", "(2, 3)"), make([]byte, 6)), "dtype uint8 '|u1'"},
		{"descr-i2.npy", npyDict(dict("'<i2'", "False", "(2, 3)"), make([]byte, 12)), "dtype int16 '<i2'"},
		{"descr-f16.npy", npyDict(dict("'<f16'", "False", "(2, 3)"), make([]byte, 96)), "dtype float128 '<f16'"},
		{"descr-bad-order.npy", npyDict(dict("'!f4'", "False", "(2, 3)"), data), "byte order '!' in '!f4'"},
		{"descr-structured.npy", npyDict(dict("[('a', '<f4')]", "False", "(2, 3)"), data), "a structured dtype [('a', '<f4')]"},
		{"descr-empty.npy", npyDict(dict("''", "False", "(2, 3)"), data), "an empty descr"},
		{"fortran-order-true.npy", npyDict(dict("'<f4'", "True", "(2, 3)"), data), "'fortran_order': True (column-major)"},
		{"fortran-order-int.npy", npyDict(dict("'<f4'", "0", "(2, 3)"), data), "'fortran_order': 0, not a bool"},
		{"shape-list.npy", npyDict(dict("'<f4'", "False", "[2, 3]"), data), "'shape': [2, 3], a list, not a tuple"},
		{"shape-int.npy", npyDict(dict("'<f4'", "False", "6"), data), "'shape': 6, not a tuple"},
		{"shape-paren-int.npy", npyDict(dict("'<f4'", "False", "(6)"), data), "'shape': (6), an int in parentheses, not a 1-tuple"},
		{"shape-negative.npy", npyDict(dict("'<f4'", "False", "(-2, 3)"), data), "a negative dimension -2"},
		{"shape-float.npy", npyDict(dict("'<f4'", "False", "(2.0, 3)"), data), "a float dimension 2.0"},
		{"shape-unclosed.npy", npyDict(dict("'<f4'", "False", "(2, 3"), data), "an unclosed shape tuple"},
		{"shape-overflow-int64.npy", npyDict(dict("'<f4'", "False", "(4294967296, 4294967296, 4)"), data), "shape product 2^66 overflows int64"},
		{"shape-bytes-overflow.npy", npyDict(dict("'<f4'", "False", "(2147483648, 2147483648)"), data), "2^62 elements fit int64 but 2^64 bytes do not"},
		{"shape-dim-huge.npy", npyDict(dict("'<f4'", "False", "(99999999999999999999, 1)"), data), "a dimension above int64"},
		{"shape-33-dims.npy", npyDict(dict("'<f4'", "False", "("+strings.Repeat("1, ", 33)+")"), le32(1)), "33 dimensions (the reader allows 32, as NumPy 1.x does)"},
		{"data-truncated.npy", validBytes[:len(validBytes)-3], "a valid (2, 3) float32 file with its last 3 data bytes cut"},
		{"data-zero-bytes.npy", npyDict(okDict, nil), "shape (2, 3) and no data at all"},
		{"shape-larger-than-data.npy", npyDict(dict("'<f4'", "False", "(4, 3)"), data), "shape (4, 3) with data for (2, 3) (lying header)"},
		{"shape-smaller-than-data.npy", npyDict(dict("'<f4'", "False", "(1, 3)"), data), "shape (1, 3) with data for (2, 3) (trailing bytes)"},
		{"trailing-byte.npy", append(slices.Clone(validBytes), 0), "a valid file with one extra byte"},
	}
	for _, m := range malformed {
		p := "$BAD/npy/malformed/" + m.name
		files = append(files, badFile{
			path: "npy/malformed/" + m.name, data: m.data,
			why: m.why + "; refused as logits, targets and weights",
			runs: [][]string{
				loss("index", p, T),
				loss("index", L, p),
				loss("dense", L, p),
				loss("index", L, T, "--weights", p),
			},
		})
	}

	// Files that are well formed but wrong for their role.
	sem := func(name string, data []byte, why string, runs ...[]string) badFile {
		return badFile{path: "npy/semantic/" + name, data: data, why: why, runs: runs, readerOK: true}
	}
	S := func(name string) string { return "$BAD/npy/semantic/" + name }
	// The loss names the row and class; for a masked target class it
	// names the targets file (the target is what is refused), and for an
	// overflowing loss no file (only the logits make a loss).
	mention := func(f badFile, m string) badFile { f.mention = m; return f }
	files = append(files,
		sem("logits-0d.npy", npyOf([]int{}, f32(1)), "0-d logits (shape ()): need (N, C)",
			loss("index", S("logits-0d.npy"), T), loss("dense", S("logits-0d.npy"), D)),
		sem("logits-1d.npy", npyOf([]int{3}, f32(1, 2, 3)), "1-d logits (3,): need (N, C)",
			loss("index", S("logits-1d.npy"), T)),
		sem("logits-c0.npy", npyOf([]int{2, 0}, []float32{}), "logits with C = 0 classes, shape (2, 0)",
			loss("index", S("logits-c0.npy"), T), loss("bce", S("logits-c0.npy"), S("logits-c0.npy"))),
		sem("logits-int64.npy", npyOf([]int{2, 3}, []int64{1, 2, 3, 4, 5, 6}), "int64 logits: must be float",
			loss("index", S("logits-int64.npy"), T)),
		sem("logits-int32.npy", npyOf([]int{2, 3}, []int32{1, 2, 3, 4, 5, 6}), "int32 logits: must be float",
			loss("dense", S("logits-int32.npy"), D)),
		sem("logits-nan.npy", npyOf([]int{2, 3}, f32(1, 2, 3, -1, nan, 0)), "NaN logit at row 1, class 1",
			loss("index", S("logits-nan.npy"), T), loss("dense", S("logits-nan.npy"), D),
			loss("multilabel", S("logits-nan.npy"), D), loss("bce", S("logits-nan.npy"), D)),
		sem("logits-posinf.npy", npyOf([]int{2, 3}, f32(1, inf, 3, -1, 0.5, 0)), "+Inf logit at row 0, class 1",
			loss("index", S("logits-posinf.npy"), T), loss("bce", S("logits-posinf.npy"), D)),
		sem("logits-all-neginf-row.npy", npyOf([]int{2, 3}, f32(1, 2, 3, ninf, ninf, ninf)), "row 1 all −Inf (a counted position with no class)",
			loss("index", S("logits-all-neginf-row.npy"), T), loss("dense", S("logits-all-neginf-row.npy"), D),
			loss("multilabel", S("logits-all-neginf-row.npy"), D)),
		mention(sem("logits-masked-target.npy", npyOf([]int{2, 3}, f32(ninf, 2, 3, -1, 0.5, 0)), "−Inf logit on a class with a positive target (row 0, class 0)",
			loss("index", S("logits-masked-target.npy"), T), loss("dense", S("logits-masked-target.npy"), D),
			loss("bce", S("logits-masked-target.npy"), D)), "row 0, class 0"),
		mention(sem("logits-f64-loss-overflow.npy", npyOf([]int{2, 3}, []float64{-1.7e308, 1.7e308, 0, 0, 0, 0}),
			"finite float64 logits whose loss overflows (row 0: 1.7e308 − (−1.7e308))",
			loss("index", S("logits-f64-loss-overflow.npy"), T)), "row 0"),
		sem("targets-index-f32.npy", npyOf([]int{2}, f32(0, 2)), "float32 targets for --kind index (need int32/int64)",
			loss("index", L, S("targets-index-f32.npy"))),
		sem("targets-dense-i64.npy", npyOf([]int{2, 3}, []int64{0, 0, 1, 0, 1, 0}), "int64 targets for --kind dense (need float)",
			loss("dense", L, S("targets-dense-i64.npy")), loss("bce", L, S("targets-dense-i64.npy"))),
		sem("targets-index-wrong-shape.npy", npyOf([]int{3}, []int64{0, 1, 2}), "index targets of shape (3,) for logits (2, 3)",
			loss("index", L, S("targets-index-wrong-shape.npy"))),
		sem("targets-index-2d.npy", npyOf([]int{2, 1}, []int64{0, 1}), "index targets of shape (2, 1) for logits (2, 3)",
			loss("index", L, S("targets-index-2d.npy"))),
		sem("targets-dense-wrong-shape.npy", npyOf([]int{2, 4}, f32(0.25, 0.25, 0.25, 0.25, 1, 0, 0, 0)), "dense targets of shape (2, 4) for logits (2, 3)",
			loss("dense", L, S("targets-dense-wrong-shape.npy")), loss("multilabel", L, S("targets-dense-wrong-shape.npy"))),
		sem("targets-dense-transposed.npy", npyOf([]int{3, 2}, f32(0.2, 0, 0.3, 0, 0.5, 1)), "dense targets of shape (3, 2) for logits (2, 3)",
			loss("dense", L, S("targets-dense-transposed.npy")), loss("bce", L, S("targets-dense-transposed.npy"))),
		sem("targets-index-out-of-range.npy", npyOf([]int{2}, []int64{0, 3}), "index target 3 at row 1, outside [0, 3)",
			loss("index", L, S("targets-index-out-of-range.npy"))),
		sem("targets-index-negative.npy", npyOf([]int{2}, []int64{-1, 0}), "index target −1 at row 0 (not the ignore index −100)",
			loss("index", L, S("targets-index-negative.npy"))),
		sem("targets-index-i32-huge.npy", npyOf([]int{2}, []int32{0, math.MaxInt32}), "int32 index target 2147483647 at row 1",
			loss("index", L, S("targets-index-i32-huge.npy"))),
		sem("targets-dense-negative.npy", npyOf([]int{2, 3}, f32(-0.5, 1.5, 0, 0, 0, 1)), "negative dense target at row 0, class 0",
			loss("dense", L, S("targets-dense-negative.npy")), loss("multilabel", L, S("targets-dense-negative.npy")),
			loss("bce", L, S("targets-dense-negative.npy"))),
		sem("targets-dense-nan.npy", npyOf([]int{2, 3}, f32(0.2, 0.3, 0.5, 0, nan, 1)), "NaN dense target at row 1, class 1",
			loss("dense", L, S("targets-dense-nan.npy")), loss("multilabel", L, S("targets-dense-nan.npy")),
			loss("bce", L, S("targets-dense-nan.npy"))),
		sem("targets-dense-inf.npy", npyOf([]int{2, 3}, f32(0.2, inf, 0.5, 0, 0, 1)), "+Inf dense target at row 0, class 1",
			loss("dense", L, S("targets-dense-inf.npy")), loss("bce", L, S("targets-dense-inf.npy"))),
		sem("weights-wrong-length.npy", npyOf([]int{4}, f32(1, 1, 1, 1)), "weights of shape (4,) for C = 3",
			loss("index", L, T, "--weights", S("weights-wrong-length.npy")), loss("dense", L, D, "--weights", S("weights-wrong-length.npy"))),
		sem("weights-2d.npy", npyOf([]int{1, 3}, f32(1, 1, 1)), "weights of shape (1, 3), need (3,)",
			loss("index", L, T, "--weights", S("weights-2d.npy"))),
		sem("weights-0d.npy", npyOf([]int{}, f32(1)), "0-d weights, need (3,)",
			loss("index", L, T, "--weights", S("weights-0d.npy"))),
		sem("weights-negative.npy", npyOf([]int{3}, f32(1, -1, 1)), "negative weight for class 1",
			loss("index", L, T, "--weights", S("weights-negative.npy")), loss("bce", L, D, "--weights", S("weights-negative.npy"))),
		sem("weights-nan.npy", npyOf([]int{3}, f32(1, 1, nan)), "NaN weight for class 2",
			loss("index", L, T, "--weights", S("weights-nan.npy")), loss("dense", L, D, "--weights", S("weights-nan.npy"))),
		sem("weights-inf.npy", npyOf([]int{3}, f32(inf, 1, 1)), "+Inf weight for class 0",
			loss("index", L, T, "--weights", S("weights-inf.npy"))),
		sem("weights-int64.npy", npyOf([]int{3}, []int64{1, 1, 1}), "int64 weights: must be float",
			loss("index", L, T, "--weights", S("weights-int64.npy"))),
	)
	return files
}

// ---- IDX (MNIST) ----

func idxBytes(magic uint32, dims []int, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func idxCorpus() []badFile {
	// One 28×28 image per split: a digit-like stroke, and its label.
	img := make([]byte, 28*28)
	for i := 6; i < 22; i++ {
		img[i*28+13], img[i*28+14] = 255, 200
	}
	trImg := idxBytes(mnist.ImageMagic, []int{1, 28, 28}, img)
	trLbl := idxBytes(mnist.LabelMagic, []int{1}, []byte{1})
	teImg := trImg
	teLbl := trLbl
	valid := map[string][]byte{
		mnist.TrainImages: trImg, mnist.TrainLabels: trLbl,
		mnist.TestImages: teImg, mnist.TestLabels: teLbl,
	}
	names := []string{mnist.TrainImages, mnist.TrainLabels, mnist.TestImages, mnist.TestLabels}

	var files []badFile
	for _, n := range names {
		f := badFile{path: "idx/valid/" + n, data: valid[n], why: "valid: one 28×28 image (or its label 1)"}
		if n == mnist.TrainImages {
			f.ok = [][]string{trainTiny("$BAD/idx/valid"), evalWith("$BAD/ckpt/valid.ckpt", "$BAD/idx/valid")}
		}
		files = append(files, f)
	}

	trunc := gz(trImg)
	trunc = trunc[:len(trunc)/2]
	badCRC := gz(teLbl)
	badCRC[len(badCRC)-8] ^= 0x01 // the CRC-32 of the gzip trailer
	badSize := gz(teLbl)
	badSize[len(badSize)-1] ^= 0x80 // the ISIZE of the gzip trailer
	cases := []struct {
		dir, file string // file replaces one of the four (name may add .gz)
		data      []byte
		why       string
	}{
		{"bad-magic", mnist.TrainImages, append([]byte{0x12, 0x34}, trImg[2:]...), "magic 0x12340803: not an IDX file"},
		{"labels-magic-for-images", mnist.TrainImages, idxBytes(mnist.LabelMagic, []int{784}, img), "an images file with the labels magic 0x00000801 (1 dimension)"},
		{"images-magic-for-labels", mnist.TestLabels, idxBytes(mnist.ImageMagic, []int{1, 1, 1}, []byte{1}), "a labels file with the images magic 0x00000803 (3 dimensions)"},
		{"wrong-type-float", mnist.TrainImages, append([]byte{0, 0, 0x0d, 3}, trImg[4:]...), "data type byte 0x0d (float) instead of 0x08 (unsigned byte)"},
		{"wrong-type-int", mnist.TrainLabels, append([]byte{0, 0, 0x0c, 1}, trLbl[4:]...), "data type byte 0x0c (int32) instead of 0x08"},
		{"zero-dims", mnist.TrainImages, []byte{0, 0, 8, 0}, "magic 0x00000800: no dimensions"},
		{"four-dims", mnist.TrainImages, idxBytes(0x0804, []int{1, 1, 28, 28}, img), "four dimensions in an images file"},
		{"empty-file", mnist.TrainLabels, nil, "a 0-byte labels file"},
		{"header-truncated", mnist.TrainImages, trImg[:10], "an images file cut inside its dimensions"},
		{"short-data", mnist.TrainImages, trImg[:len(trImg)-100], "an images file with 100 data bytes missing"},
		{"short-labels", mnist.TestLabels, idxBytes(mnist.LabelMagic, []int{3}, []byte{1}), "the labels header says 3, the file holds 1 label"},
		{"lying-count-huge", mnist.TrainImages, idxBytes(mnist.ImageMagic, []int{60000, 28, 28}, img), "the images header says 60000 images, the file holds 1"},
		{"lying-dims-overflow", mnist.TrainImages, idxBytes(mnist.ImageMagic, []int{0xffffffff, 0xffffffff, 0xffffffff}, img), "dimensions 2^32−1 each: the size overflows"},
		{"count-mismatch", mnist.TrainLabels, idxBytes(mnist.LabelMagic, []int{2}, []byte{1, 1}), "2 labels for 1 image (each file is self-consistent)"},
		{"trailing-bytes", mnist.TrainImages, append(slices.Clone(trImg), 0, 0, 0), "an images file with 3 bytes after the data"},
		{"trailing-bytes-labels", mnist.TestLabels, append(slices.Clone(teLbl), 7), "a labels file with 1 byte after the data"},
		{"label-not-digit", mnist.TrainLabels, idxBytes(mnist.LabelMagic, []int{1}, []byte{10}), "label 10 is not a digit"},
		{"zero-size-images", mnist.TrainImages, idxBytes(mnist.ImageMagic, []int{1, 0, 28}, nil), "images of 0×28 pixels"},
		{"images-14x14", mnist.TrainImages, idxBytes(mnist.ImageMagic, []int{1, 14, 14}, img[:196]), "valid IDX, but 14×14 images, not 28×28"},
		{"truncated-gzip", mnist.TrainImages + ".gz", trunc, "a gzip file cut in half"},
		{"gzip-bad-checksum", mnist.TestLabels + ".gz", badCRC, "a gzip file whose CRC-32 trailer is wrong"},
		{"gzip-bad-size", mnist.TestLabels + ".gz", badSize, "a gzip file whose ISIZE trailer is wrong"},
		{"gzip-bad-header", mnist.TrainLabels + ".gz", []byte{0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0xff}, "gzip magic with compression method 7"},
		{"gzip-of-bad-idx", mnist.TrainImages + ".gz", gz(append(slices.Clone(trImg), 1)), "a valid gzip stream holding an IDX file with a trailing byte"},
		// These two are accepted by data/mnist today (a bug): readIDX sets
		// Multistream(false) and never checks that the gzip member ends
		// the file, so bytes after it are silently dropped, while a raw
		// file with trailing bytes is refused.
		{"gzip-trailing-junk", mnist.TrainLabels + ".gz", append(gz(trLbl), "junk after the gzip member"...), "a valid gzip member followed by 26 bytes of junk"},
		{"gzip-second-member", mnist.TestImages + ".gz", append(gz(teImg), gz([]byte{1, 2, 3})...), "a valid gzip member followed by a second member (cat a.gz b.gz): its 3 bytes would be lost"},
		{"missing-test-labels", "", nil, "t10k-labels-idx1-ubyte is missing"},
	}
	for _, c := range cases {
		dir := "idx/" + c.dir
		replaced := strings.TrimSuffix(c.file, ".gz")
		for _, n := range names {
			if n == replaced {
				continue
			}
			if c.file == "" && n == mnist.TestLabels {
				continue
			}
			files = append(files, badFile{path: dir + "/" + n, data: valid[n], why: "filler: valid"})
		}
		d := "$BAD/" + dir
		runs := [][]string{trainTiny(d), evalWith("$BAD/ckpt/valid.ckpt", d)}
		if c.file == "" {
			// Record the case on one of the other files.
			files[len(files)-1].why = "filler: valid; the folder lacks " + mnist.TestLabels
			files[len(files)-1].runs = runs
			continue
		}
		files = append(files, badFile{path: dir + "/" + c.file, data: c.data, why: c.why, runs: runs})
	}
	return files
}

// ---- checkpoints ----

// recrc replaces the trailing CRC-32C of a checkpoint by the right one.
func recrc(b []byte) []byte {
	b = slices.Clone(b)
	n := len(b) - 4
	binary.LittleEndian.PutUint32(b[n:], crc32.Checksum(b[:n], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func ckptCorpus() ([]badFile, error) {
	cfg := tinyConfig
	net, err := cfg.newNet()
	if err != nil {
		return nil, err
	}
	opt := cfg.newOptimizer()
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	if _, err := net.TrainStep(x, nn.Targets{Labels: []int32{3}}, opt); err != nil {
		return nil, err
	}
	hist := []epochMetrics{{Epoch: 1, LR: cfg.LR, TrainLoss: 2.3, TestLoss: 2.3, TestAccuracy: 0}}
	meta, err := encodeMeta(cfg, hist)
	if err != nil {
		return nil, err
	}
	ck, err := net.Snapshot(opt, 1, meta)
	if err != nil {
		return nil, err
	}
	encode := func(c *nn.Checkpoint) []byte {
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			panic(err)
		}
		return b.Bytes()
	}
	valid := encode(ck)
	// Offsets of the sections.
	hlen := int(binary.LittleEndian.Uint32(valid[12:]))
	params := 16 + hlen // 8-byte count, then the values
	np := int(binary.LittleEndian.Uint64(valid[params:]))
	nbOff := params + 8 + 4*np // optimiser buffer count
	flip := func(off int, bit byte) []byte {
		b := slices.Clone(valid)
		b[off] ^= bit
		return b
	}
	put32 := func(off int, v uint32) []byte {
		b := slices.Clone(valid)
		binary.LittleEndian.PutUint32(b[off:], v)
		return recrc(b)
	}
	put64 := func(off int, v uint64) []byte {
		b := slices.Clone(valid)
		binary.LittleEndian.PutUint64(b[off:], v)
		return recrc(b)
	}
	variant := func(edit func(c *nn.Checkpoint)) []byte {
		c := *ck
		c.Params = slices.Clone(ck.Params)
		edit(&c)
		return encode(&c)
	}
	metaWith := func(edit func(m *checkpointMeta)) []byte {
		m := checkpointMeta{Config: cfg, Epochs: hist}
		edit(&m)
		b, err := encodeMeta(m.Config, m.Epochs)
		if err != nil {
			panic(err)
		}
		return b
	}
	trailing := slices.Clone(valid[:len(valid)-4])
	trailing = recrc(append(trailing, 1, 2, 3, 4, 0, 0, 0, 0))
	notJSON := slices.Clone(valid)
	notJSON[16] = 'x' // the header's '{'

	both := func(p string) [][]string {
		return [][]string{evalWith(p, "$BAD/idx/valid"), resumeWith(p, "$BAD/idx/valid")}
	}
	type ckc struct {
		name  string
		data  []byte
		why   string
		train bool // only train --resume refuses it (eval does not use what is wrong)
		// mention, if set, is what the error must contain instead of the
		// path; readerOK marks a file that ReadCheckpointFile, decodeMeta
		// and Restore accept (the command refuses it later).
		mention  string
		readerOK bool
	}
	cases := []ckc{
		{"empty.ckpt", nil, "0 bytes", false, "", false},
		{"text.ckpt", []byte("not a checkpoint\n"), "a text file", false, "", false},
		{"flip-magic.ckpt", flip(0, 0x01), "first magic byte flipped", false, "", false},
		{"flip-version.ckpt", flip(8, 0x02), "version 3 instead of 1", false, "", false},
		{"flip-header-length.ckpt", flip(13, 0x01), "a bit of the header length flipped (checksum now wrong)", false, "", false},
		{"flip-header.ckpt", flip(16+hlen/2, 0x04), "a byte of the JSON header flipped (checksum wrong)", false, "", false},
		{"flip-params.ckpt", flip(params+8+4*(np/2)+3, 0x40), "a byte of a parameter flipped (checksum wrong)", false, "", false},
		{"flip-optimizer.ckpt", flip(len(valid)-20, 0x10), "a byte of an optimiser buffer flipped (checksum wrong)", false, "", false},
		{"flip-checksum.ckpt", flip(len(valid)-2, 0x80), "a byte of the CRC-32C flipped", false, "", false},
		{"truncated-4.ckpt", valid[:4], "cut after 4 bytes (inside the magic)", false, "", false},
		{"truncated-12.ckpt", valid[:12], "cut after the version", false, "", false},
		{"truncated-header.ckpt", valid[:16+hlen/2], "cut inside the JSON header", false, "", false},
		{"truncated-params.ckpt", valid[:params+8+2*np], "cut inside the parameters", false, "", false},
		{"truncated-optimizer.ckpt", valid[:len(valid)-40], "cut inside the optimiser buffers", false, "", false},
		{"truncated-checksum.ckpt", valid[:len(valid)-2], "cut inside the checksum", false, "", false},
		{"truncated-no-checksum.ckpt", valid[:len(valid)-4], "the checksum missing", false, "", false},
		{"trailing-byte.ckpt", append(slices.Clone(valid), 0), "one byte after the checksum", false, "", false},
		{"trailing-section-crc-ok.ckpt", trailing, "8 bytes after the last section, with a matching checksum", false, "", false},
		{"header-length-lie-crc-ok.ckpt", put32(12, uint32(hlen+1000)), "header length +1000 past the end, matching checksum", false, "", false},
		{"header-length-huge-crc-ok.ckpt", put32(12, 1<<31), "header length 2^31, matching checksum", false, "", false},
		{"header-not-json-crc-ok.ckpt", recrc(notJSON), "the header is not JSON, matching checksum", false, "", false},
		{"param-count-lie-crc-ok.ckpt", put64(params, uint64(np+1)), "parameter count +1, matching checksum", false, "", false},
		{"param-count-huge-crc-ok.ckpt", put64(params, 1<<62), "parameter count 2^62, matching checksum", false, "", false},
		{"optimizer-count-9-crc-ok.ckpt", put32(nbOff, 9), "9 optimiser buffers (limit 8), matching checksum", false, "", false},
		{"optimizer-count-lie-crc-ok.ckpt", put32(nbOff, 3), "3 optimiser buffers announced, 2 present, matching checksum", false, "", false},
		{"meta-missing.ckpt", variant(func(c *nn.Checkpoint) { c.Meta = nil }), "a valid checkpoint without the training flags (meta)", false, "", false},
		{"meta-not-json.ckpt", variant(func(c *nn.Checkpoint) { c.Meta = []byte("hello") }), "meta bytes that are not JSON", false, "", false},
		{"meta-invalid-config.ckpt", variant(func(c *nn.Checkpoint) {
			c.Meta = metaWith(func(m *checkpointMeta) { m.Config.Task = "regression" })
		}), "meta with --task regression", false, "", false},
		{"meta-zero-widths.ckpt", variant(func(c *nn.Checkpoint) {
			c.Meta = metaWith(func(m *checkpointMeta) { m.Config.Conv1 = 0 })
		}), "meta with --conv1 0", false, "", false},
		{"wrong-network.ckpt", variant(func(c *nn.Checkpoint) {
			c.Meta = metaWith(func(m *checkpointMeta) { m.Config.Conv1 = 2 })
		}), "meta for --conv1 2, weights for --conv1 1 (another network)", false, "", false},
		{"wrong-arch-string.ckpt", variant(func(c *nn.Checkpoint) { c.Arch = "input[1 28 28] → something else" }), "an Arch string of another network", false, "", false},
		{"params-short.ckpt", variant(func(c *nn.Checkpoint) { c.Params = c.Params[:len(c.Params)-1] }), "one parameter missing (valid file)", false, "", false},
		{"rng-bad.ckpt", variant(func(c *nn.Checkpoint) { c.RNG = []byte("junk") }), "a random generator state that does not decode", false, "", false},
		{"params-nan.ckpt", variant(func(c *nn.Checkpoint) {
			for i := range c.Params {
				c.Params[i] = float32(math.NaN())
			}
		}), "every parameter NaN (valid file): the logits are NaN", false, "NaN", true},
		{"epoch-past-history.ckpt", variant(func(c *nn.Checkpoint) { c.Epoch = 5 }), "epoch 5 but a history of 1 epoch", true, "", false},
		{"epoch-negative.ckpt", variant(func(c *nn.Checkpoint) { c.Epoch = -1 }), "epoch −1", true, "", false},
		{"optimizer-missing.ckpt", variant(func(c *nn.Checkpoint) { c.Opt = nn.OptimizerState{} }), "no optimiser state (resume needs it)", true, "", false},
		{"optimizer-wrong-kind.ckpt", variant(func(c *nn.Checkpoint) { c.Opt.Kind = "sgd" }), "SGD state for a run with --optimizer adam", true, "", false},
		{"optimizer-short-buffer.ckpt", variant(func(c *nn.Checkpoint) {
			c.Opt.Buffers = [][]float32{c.Opt.Buffers[0], c.Opt.Buffers[1][:3]}
		}), "an optimiser buffer of 3 values", true, "", false},
		{"optimizer-negative-steps.ckpt", variant(func(c *nn.Checkpoint) { c.Opt.Steps = -1 }), "optimiser step count −1", true, "", false},
	}
	files := []badFile{{path: "ckpt/valid.ckpt", data: valid,
		why: "valid: nn.SaveCheckpoint of the tiny network (--conv1 1 --conv2 1 --hidden 2) after 1 epoch of 1 image",
		ok:  [][]string{evalWith("$BAD/ckpt/valid.ckpt", "$BAD/idx/valid"), resumeWith("$BAD/ckpt/valid.ckpt", "$BAD/idx/valid")}}}
	for _, c := range cases {
		p := "$BAD/ckpt/" + c.name
		runs := both(p)
		why := c.why + "; refused by eval and train --resume"
		if c.train {
			runs = runs[1:]
			why = c.why + "; refused by train --resume (eval does not use it)"
		}
		files = append(files, badFile{path: "ckpt/" + c.name, data: c.data, why: why, runs: runs, mention: c.mention, readerOK: c.readerOK || c.train})
	}
	return files, nil
}

// badReadme is testdata/bad/README.md.
func badReadme(files []badFile) []byte {
	var b strings.Builder
	b.WriteString(`# Malformed inputs

Every file here is generated by cmd/xent/badgen_test.go:

    go test ./cmd/xent -run TestBadCorpusFiles -update-bad

and cmd/xent/bad_test.go runs the command on each (TestBadCorpus): every
run listed must exit non-zero, print exactly one line on stderr starting
with "xent:" and naming the file (or folder), print nothing on stdout, never
panic, and leave its --out folder without any file (no loss.npy, grad.npy,
temporary file, model.ckpt, metrics.json or curves.png). The valid files
are the counterparts the runs pair the bad ones with; their own runs must
succeed. TestBadCorpusAPI feeds the same files to the readers directly
(readNpyFile, mnist.Load, nn.ReadCheckpointFile and Net.Restore).

- npy/valid: valid counterparts.
- npy/malformed: broken .npy files; each is tried as --logits, as
  --targets (--kind index and dense) and as --weights: exit 1.
- npy/semantic: well-formed .npy files that are wrong for their role
  (dtype, shape or values): exit 1, run with the kinds listed.
- idx/valid: a valid MNIST folder of one 28×28 image per split.
- idx/<case>: MNIST folders with one bad file (the others valid copies);
  run with "xent train --data" and "xent eval --data": exit 1.
- ckpt: valid.ckpt, and broken or mismatched copies, run with
  "xent eval --model" and "xent train --resume" (those marked "train
  --resume" only by that): exit 1.

| file | what is wrong (expected failure) |
|---|---|
`)
	for _, f := range files {
		if strings.HasPrefix(f.why, "filler") && f.runs == nil {
			continue
		}
		why := f.why
		if strings.HasPrefix(f.path, "idx/") && !strings.HasPrefix(f.path, "idx/valid") {
			why += "; refused by train and eval"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", f.path, strings.ReplaceAll(why, "|", "\\|"))
	}
	return []byte(b.String())
}

// TestBadCorpusFiles regenerates testdata/bad with -update-bad, and
// otherwise checks that the files there are exactly the generated ones.
func TestBadCorpusFiles(t *testing.T) {
	files, err := badCorpus()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"README.md": true}
	for _, f := range files {
		if want[f.path] {
			t.Fatalf("%s generated twice", f.path)
		}
		want[f.path] = true
	}
	if *updateBad {
		if err := os.RemoveAll(badRoot); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			p := filepath.Join(badRoot, filepath.FromSlash(f.path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(badRoot, "README.md"), badReadme(files), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have := map[string]bool{}
	total := int64(0)
	err = filepath.WalkDir(badRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		rel, _ := filepath.Rel(badRoot, p)
		have[filepath.ToSlash(rel)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if !have[p] {
			t.Errorf("%s is missing from testdata/bad: run go test ./cmd/xent -run TestBadCorpusFiles -update-bad", p)
		}
	}
	for p := range have {
		if !want[p] {
			t.Errorf("testdata/bad/%s is not generated by badCorpus", p)
		}
	}
	if total > 200<<10 {
		t.Errorf("testdata/bad holds %d bytes, over 200 KiB", total)
	}
}
