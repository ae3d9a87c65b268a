package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadNpy feeds arbitrary bytes to the .npy reader: it must never
// panic, and what it accepts must be self-consistent and survive a round
// trip through writeNpy.
func FuzzReadNpy(f *testing.F) {
	f.Add(npyBytes(f, []int{4, 5}, make([]float32, 20)))
	f.Add(npyBytes(f, []int{2, 3, 1}, []float64{1, 2, 3, 4, 5, 6}))
	f.Add(npyBytes(f, []int{3}, []int32{-1, 0, 1}))
	f.Add(npyBytes(f, []int{}, []int64{7}))
	f.Add(npyBytes(f, []int{0, 5}, []float32{}))
	f.Add(rawNpy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)))
	f.Add(rawNpy(`{"descr": "<i8", "fortran_order": False, "shape": (1, 1)}`, make([]byte, 8)))
	f.Add(rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", make([]byte, 16)))
	f.Add(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2), }", nil))
	f.Add(rawNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", make([]byte, 4)))
	f.Add(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", make([]byte, 12)))
	v2 := []byte(npyMagic + "\x02\x00")
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n"
	v2 = binary.LittleEndian.AppendUint32(v2, uint32(len(dict)))
	v2 = append(append(v2, dict...), 0, 0, 0x80, 0x3f)
	f.Add(v2)
	f.Add([]byte(npyMagic + "\x01\x00\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := readNpy(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if a.Len() != count(a.Shape) {
			t.Fatalf("shape %v holds %d elements, read %d", a.Shape, count(a.Shape), a.Len())
		}
		data := a.Data()
		if data == nil {
			t.Fatalf("unknown dtype %v", a.Dtype)
		}
		var w bytes.Buffer
		if err := writeNpy(&w, a.Shape, data); err != nil {
			t.Fatal(err)
		}
		a2, err := readNpy(bytes.NewReader(w.Bytes()), int64(w.Len()))
		if err != nil {
			t.Fatalf("cannot read back what was written: %v", err)
		}
		if a2.Dtype != a.Dtype || !slices.Equal(a2.Shape, a.Shape) ||
			!bytes.Equal(npyBytes(t, a2.Shape, data), w.Bytes()) {
			t.Fatalf("round trip changed the array")
		}
		if w.Len()%64 != int(a.Dtype.size()*int64(a.Len()))%64 {
			t.Errorf("data does not start at a multiple of 64 bytes")
		}
	})
}

// FuzzLossFlags runs "xent loss" with fuzzed arguments. Words of the form
// @NAME stand for seeded .npy files; the output directory is always a fresh
// temporary one, appended last, so the fuzzer cannot write elsewhere (a
// stray positional argument makes it a usage error). The contract: exit 0,
// 1 or 2; on failure one stderr line starting "xent:" and no output files;
// on success both files (or help on stdout).
func FuzzLossFlags(f *testing.F) {
	dir := f.TempDir()
	logits := make([]float32, 20)
	for i := range logits {
		logits[i] = float32(i%7) - 3
	}
	files := map[string]string{
		"@L":      putNpy(f, dir, "L.npy", []int{4, 5}, logits),
		"@L64":    putNpy(f, dir, "L64.npy", []int{4, 5}, f64(logits)),
		"@L3":     putNpy(f, dir, "L3.npy", []int{2, 5, 2}, logits),
		"@T":      putNpy(f, dir, "T.npy", []int{4}, []int64{0, 1, 2, 3}),
		"@T32":    putNpy(f, dir, "T32.npy", []int{4}, []int32{0, -100, 4, 3}),
		"@T3":     putNpy(f, dir, "T3.npy", []int{2, 2}, []int64{0, 1, 4, 3}),
		"@Tbad":   putNpy(f, dir, "Tbad.npy", []int{4}, []int64{0, 1, 9, 3}),
		"@D":      putNpy(f, dir, "D.npy", []int{4, 5}, oneHot(4, 5, []int{0, 1, 2, 3})),
		"@D64":    putNpy(f, dir, "D64.npy", []int{4, 5}, f64(oneHot(4, 5, []int{0, 1, 2, 3}))),
		"@W":      putNpy(f, dir, "W.npy", []int{5}, []float32{1, 2, 0, 1, 0.5}),
		"@Wneg":   putNpy(f, dir, "Wneg.npy", []int{5}, []float64{1, -2, 0, 1, 0.5}),
		"@Lnan":   putNpy(f, dir, "Lnan.npy", []int{4, 5}, append([]float32{float32(math.NaN())}, logits[1:]...)),
		"@Lfort":  putRaw(f, dir, "Lfort.npy", rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 5), }", make([]byte, 80))),
		"@Ltrunc": putRaw(f, dir, "Ltrunc.npy", npyBytes(f, []int{4, 5}, logits)[:100]),
	}
	f.Add("--kind index --logits @L --targets @T")
	f.Add("--kind index --logits @L64 --targets @T32 --reduction none --weights @W")
	f.Add("--kind index --logits @L3 --targets @T3 --ignore-index 4 --label-smoothing 0.2")
	f.Add("--kind dense --logits @L --targets @D64 --reduction sum")
	f.Add("--kind multilabel --logits @L64 --targets @D --weights @W")
	f.Add("--kind bce --logits @L --targets @D --reduction none")
	f.Add("--kind bce --logits @L --targets @D --label-smoothing 0.1")
	f.Add("--kind dense --logits @L --targets @D --ignore-index 1")
	f.Add("--kind index --logits @Lnan --targets @T")
	f.Add("--kind index --logits @Lfort --targets @T")
	f.Add("--kind index --logits @Ltrunc --targets @Tbad")
	f.Add("--kind index --logits @L --targets @T --weights @Wneg")
	f.Add("-h")
	f.Add("--kind=index -logits=@L --targets @T extra")
	f.Fuzz(func(t *testing.T, line string) {
		words := strings.Fields(line)
		if len(words) > 40 {
			return
		}
		args := []string{"loss"}
		for _, w := range words {
			if p, ok := files[w]; ok {
				w = p
			} else if i := strings.IndexByte(w, '='); i >= 0 {
				if p, ok := files[w[i+1:]]; ok {
					w = w[:i+1] + p
				}
			}
			args = append(args, w)
		}
		out := filepath.Join(t.TempDir(), "out")
		args = append(args, "--out", out)
		code, stdout, stderr := runXent(args...)
		switch code {
		case 0:
			if strings.HasPrefix(stdout, "usage:") {
				return
			}
			if stderr != "" || strings.Count(stdout, "\n") != 1 {
				t.Fatalf("success with stdout %q, stderr %q", stdout, stderr)
			}
			if _, err := strconv.ParseFloat(strings.TrimSpace(stdout), 64); err != nil {
				t.Fatalf("loss %q is not a number", stdout)
			}
			for _, name := range []string{"loss.npy", "grad.npy"} {
				if _, err := readNpyFile(filepath.Join(out, name)); err != nil {
					t.Fatalf("output %s: %v", name, err)
				}
			}
		case 1, 2:
			if !strings.HasPrefix(stderr, "xent:") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Fatalf("exit %d with stderr %q", code, stderr)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Fatalf("exit %d left %d files in the output directory", code, len(ents))
			}
		default:
			t.Fatalf("exit code %d", code)
		}
	})
}

// FuzzBenchShape feeds arbitrary text to xent bench's shape parser: it
// must never panic, and a shape it accepts has at least two positive
// sizes and at most 2^34 elements, and its printed name parses back to the
// same shape.
func FuzzBenchShape(f *testing.F) {
	for _, s := range []string{"4096x1000", "8x21x128x128", "1x1", "0x5", "x", "3", " 2x3 ", "99999999x99999999", "2x-3", "2x+3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		shape, err := parseBenchShape(s)
		if err != nil {
			if shape != nil {
				t.Fatalf("%q: shape %v with error %v", s, shape, err)
			}
			return
		}
		if len(shape) < 2 {
			t.Fatalf("%q: shape %v", s, shape)
		}
		total := 1.0
		for _, d := range shape {
			if d < 1 {
				t.Fatalf("%q: size %d in %v", s, d, shape)
			}
			total *= float64(d)
		}
		if total > 1<<34 {
			t.Fatalf("%q: %v has %g elements", s, shape, total)
		}
		again, err := parseBenchShape(benchShapeName(shape))
		if err != nil || !slices.Equal(again, shape) {
			t.Fatalf("%q: %v prints as %q, which parses as %v, %v", s, shape, benchShapeName(shape), again, err)
		}
	})
}
