package mnist

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzIDX feeds arbitrary bytes to the IDX decoder: it must not panic, and
// what it accepts must hold exactly the data its dimensions declare.
func FuzzIDX(f *testing.F) {
	f.Add(idxBytes(ImageMagic, []uint32{2, 2, 3}, make([]byte, 12)))
	f.Add(idxBytes(LabelMagic, []uint32{3}, []byte{1, 2, 3}))
	f.Add(idxBytes(ImageMagic, []uint32{60000, 28, 28}, make([]byte, 10)))
	f.Add(idxBytes(0x00000804, []uint32{1, 1, 1, 1}, []byte{7}))
	f.Add(idxBytes(LabelMagic, []uint32{0}, nil))
	f.Add([]byte{0, 0, 8, 0})
	f.Add([]byte{0, 0, 8, 255, 0, 0})
	f.Add(gz(idxBytes(LabelMagic, []uint32{2}, []byte{1, 2})))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The file path: gzip detection, then decoding.
		if x, err := readIDX(bufio.NewReader(bytes.NewReader(b)), int64(len(b)), 0, &FormatError{File: "f"}); err == nil {
			n := 1
			for _, d := range x.Dims {
				n *= d
			}
			if n != len(x.Data) {
				t.Fatalf("dims %v but %d data bytes", x.Dims, len(x.Data))
			}
		}
		x, err := DecodeIDX(bytes.NewReader(b), 0, int64(len(b)))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			n *= d
		}
		if n != len(x.Data) || 4+4*len(x.Dims)+n != len(b) {
			t.Fatalf("dims %v, %d data bytes, file %d bytes", x.Dims, len(x.Data), len(b))
		}
		if !bytes.Equal(x.Data, b[len(b)-n:]) {
			t.Fatal("data differs from the file")
		}
	})
}
