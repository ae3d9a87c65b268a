package multimnist

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/xent-go/xent/data/mnist"
)

// synth builds a source set of rows×cols images, perClass images of each
// digit, in which image j of digit c has every pixel of its ink box equal to
// code(c, j+offset) and the rest 0. The ink box leaves a margin of m pixels.
// A pixel value thus names the digit and the source image it came from.
func synth(rows, cols, perClass, offset, m int) *mnist.Set {
	s := &mnist.Set{Rows: rows, Cols: cols}
	for j := range perClass {
		for c := range Classes {
			img := make([]uint8, rows*cols)
			for y := m; y < rows-m; y++ {
				for x := m; x < cols-m; x++ {
					img[y*cols+x] = code(c, j+offset)
				}
			}
			s.Pixels = append(s.Pixels, img...)
			s.Labels = append(s.Labels, uint8(c))
		}
	}
	return s
}

// code is the pixel value of source image j of digit c (j < 20).
func code(c, j int) uint8 { return uint8(1 + 20*c + j) }

// decode inverts code on a pixel scaled to [0, 1].
func decode(v float32) (c, j int) {
	p := int(math.Round(float64(v) * 255))
	return (p - 1) / 20, (p - 1) % 20
}

func TestLabelsMatchDigits(t *testing.T) {
	train := synth(6, 5, 3, 0, 0) // codes j in 0..2
	test := synth(6, 5, 4, 10, 0) // codes j in 10..13
	for _, tc := range []struct {
		name string
		src  *mnist.Set
		lo   int // allowed j range
		hi   int
	}{{"train", train, 0, 3}, {"test", test, 10, 14}} {
		s, err := Generate(tc.src, 2000, 7, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if s.H != 12 || s.W != 10 || len(s.Images) != 2000*120 || len(s.Labels) != 2000*Classes {
			t.Fatalf("%s: shape N=%d H=%d W=%d, %d/%d values", tc.name, s.N, s.H, s.W, len(s.Images), len(s.Labels))
		}
		for i := range s.N {
			img, lab := s.Image(i), s.Label(i)
			var seen [Classes]bool
			for cell := range Grid * Grid {
				y0, x0 := cell/Grid*6, cell%Grid*5
				v := img[y0*10+x0]
				// Jitter 0: a cell is all one value, zero or one digit.
				for y := range 6 {
					for x := range 5 {
						if img[(y0+y)*10+x0+x] != v {
							t.Fatalf("%s image %d cell %d is not uniform", tc.name, i, cell)
						}
					}
				}
				if v == 0 {
					continue
				}
				c, j := decode(v)
				if j < tc.lo || j >= tc.hi {
					t.Fatalf("%s image %d holds source image %d of digit %d, not from this split", tc.name, i, j, c)
				}
				if seen[c] {
					t.Fatalf("%s image %d holds digit %d twice", tc.name, i, c)
				}
				seen[c] = true
			}
			k := 0
			for c, l := range lab {
				if l != 0 && l != 1 {
					t.Fatalf("%s image %d label[%d] = %v", tc.name, i, c, l)
				}
				if (l == 1) != seen[c] {
					t.Fatalf("%s image %d: label %v but digits placed %v", tc.name, i, lab, seen)
				}
				k += int(l)
			}
			if k < 1 || k > 4 {
				t.Fatalf("%s image %d has %d labels", tc.name, i, k)
			}
		}
	}
}

// TestDistribution checks the documented frequencies on a large set, each
// within 5 standard deviations of its binomial count.
func TestDistribution(t *testing.T) {
	const n = 40000
	const perClass = 4
	src := synth(4, 4, perClass, 0, 0)
	s, err := Generate(src, n, 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got int, p float64) {
		t.Helper()
		mean, sd := n*p, math.Sqrt(n*p*(1-p))
		if math.Abs(float64(got)-mean) > 5*sd {
			t.Errorf("%s: %d, want %.0f ± %.0f", what, got, mean, 5*sd)
		}
	}
	var byK [5]int
	var byClass [Classes]int
	var byCell [4]int
	var bySource [Classes][perClass]int
	pairs := map[[2]int]int{}
	for i := range n {
		k := 0
		var present []int
		for c, l := range s.Label(i) {
			if l == 1 {
				k++
				byClass[c]++
				present = append(present, c)
			}
		}
		byK[k]++
		if k == 2 {
			pairs[[2]int{present[0], present[1]}]++
		}
		img := s.Image(i)
		for cell := range 4 {
			if v := img[cell/2*4*8+cell%2*4]; v != 0 {
				byCell[cell]++
				c, j := decode(v)
				bySource[c][j]++
			}
		}
	}
	if byK[0] != 0 {
		t.Errorf("%d images without a digit", byK[0])
	}
	for k := 1; k <= 4; k++ {
		check(fmt.Sprintf("images with %d digits", k), byK[k], 0.25)
	}
	for c := range Classes {
		check(fmt.Sprintf("images holding digit %d", c), byClass[c], 0.25)
		for j := range perClass {
			// A given source image of digit c: P = 1/4 · 1/perClass.
			check(fmt.Sprintf("uses of source image %d of digit %d", j, c), bySource[c][j], 0.25/perClass)
		}
	}
	for cell := range 4 {
		check(fmt.Sprintf("images using cell %d", cell), byCell[cell], 5.0/8)
	}
	// Two-digit images: each of the 45 pairs has probability 1/4 · 1/45.
	if len(pairs) != 45 {
		t.Errorf("%d distinct pairs among two-digit images, want 45", len(pairs))
	}
	for p, m := range pairs {
		if p[0] >= p[1] {
			t.Fatalf("pair %v not in class order", p)
		}
		check(fmt.Sprintf("images holding exactly digits %v", p), m, 0.25/45)
	}
}

func TestConfigDigits(t *testing.T) {
	src := synth(4, 4, 2, 0, 0)
	for _, tc := range []struct{ min, max, lo, hi int }{{0, 0, 1, 4}, {2, 0, 2, 4}, {0, 1, 1, 1}, {3, 3, 3, 3}, {4, 4, 4, 4}} {
		s, err := Generate(src, 500, 3, Config{MinDigits: tc.min, MaxDigits: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i := range s.N {
			k := 0
			for _, l := range s.Label(i) {
				k += int(l)
			}
			if k < tc.lo || k > tc.hi {
				t.Fatalf("Min=%d Max=%d: image %d has %d digits", tc.min, tc.max, i, k)
			}
			seen[k] = true
		}
		if len(seen) != tc.hi-tc.lo+1 {
			t.Errorf("Min=%d Max=%d: counts seen %v", tc.min, tc.max, seen)
		}
	}
}

func TestDeterminism(t *testing.T) {
	src := synth(28, 28, 5, 0, 4)
	for _, cfg := range []Config{{}, {Jitter: 3}} {
		a, err := Generate(src, 1000, 42, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Generate(src, 1000, 42, cfg)
		c, _ := Generate(src, 1000, 43, cfg)
		if !slices.Equal(a.Images, b.Images) || !slices.Equal(a.Labels, b.Labels) {
			t.Errorf("%+v: the same seed gave different sets", cfg)
		}
		if slices.Equal(a.Labels, c.Labels) || slices.Equal(a.Images, c.Images) {
			t.Errorf("%+v: seeds 42 and 43 gave the same set", cfg)
		}
		// Chunked generation into a caller's buffers matches, and the
		// first 300 images of a 1000-image set are those of a 300-image set.
		g, err := New(src, 42, cfg)
		if err != nil {
			t.Fatal(err)
		}
		const size = 56 * 56
		imgs := make([]float32, 7*size)
		labs := make([]float32, 7*Classes)
		for lo := 0; lo < 1000; lo += 7 {
			m := min(7, 1000-lo)
			// Dirty the buffers: Fill must overwrite every element.
			for i := range imgs {
				imgs[i] = -1
			}
			for i := range labs {
				labs[i] = -1
			}
			if err := g.Fill(imgs[:m*size], labs[:m*Classes], lo); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(imgs[:m*size], a.Images[lo*size:(lo+m)*size]) ||
				!slices.Equal(labs[:m*Classes], a.Labels[lo*Classes:(lo+m)*Classes]) {
				t.Fatalf("%+v: Fill of images %d..%d differs from Generate", cfg, lo, lo+m-1)
			}
		}
		short, _ := g.Generate(300)
		if !slices.Equal(short.Images, a.Images[:300*size]) {
			t.Errorf("%+v: a 300-image set is not a prefix of a 1000-image set", cfg)
		}
	}
}

// TestPixels checks that a placed digit is the source image scaled as
// mnist.Set.ImageFloat32 scales it.
func TestPixels(t *testing.T) {
	src := &mnist.Set{Rows: 3, Cols: 3}
	for c := range Classes {
		src.Pixels = append(src.Pixels, 0, 255, 1, 2, 3, 4, uint8(100+c), 6, 7)
		src.Labels = append(src.Labels, uint8(c))
	}
	s, err := Generate(src, 50, 9, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.N {
		img := s.Image(i)
		for cell := range 4 {
			y0, x0 := cell/2*3, cell%2*3
			c := int(math.Round(float64(img[(y0+2)*6+x0])*255)) - 100
			want := make([]float32, 9) // an empty cell is zero
			if c >= 0 {
				want = src.ImageFloat32(nil, c)
				if s.Label(i)[c] != 1 {
					t.Fatalf("image %d holds digit %d but its label is %v", i, c, s.Label(i))
				}
			}
			for y := range 3 {
				for x := range 3 {
					if got := img[(y0+y)*6+x0+x]; got != want[y*3+x] {
						t.Fatalf("image %d cell %d pixel (%d,%d) = %v, want %v", i, cell, y, x, got, want[y*3+x])
					}
				}
			}
		}
	}
}

// TestJitter checks that jittered digits stay whole on the canvas, move
// towards the centre by at most Jitter pixels per axis, and use each shift.
func TestJitter(t *testing.T) {
	const J = 4
	src := synth(28, 28, 3, 0, J) // ink box 20×20 at (4, 4): inks cannot overlap
	s, err := Generate(src, 3000, 5, Config{Jitter: J})
	if err != nil {
		t.Fatal(err)
	}
	shifts := map[[2]int]int{}
	for i := range s.N {
		img := s.Image(i)
		type box struct{ y0, x0, y1, x1, n int }
		boxes := map[uint8]*box{}
		for y := range 56 {
			for x := range 56 {
				v := img[y*56+x]
				if v == 0 {
					continue
				}
				p := uint8(math.Round(float64(v) * 255))
				b := boxes[p]
				if b == nil {
					b = &box{y, x, y, x, 0}
					boxes[p] = b
				}
				b.y0, b.x0, b.y1, b.x1 = min(b.y0, y), min(b.x0, x), max(b.y1, y), max(b.x1, x)
				b.n++
			}
		}
		var k int
		for _, l := range s.Label(i) {
			k += int(l)
		}
		if len(boxes) != k {
			t.Fatalf("image %d: %d digits visible, %d labelled", i, len(boxes), k)
		}
		for p, b := range boxes {
			c, _ := decode(float32(p) / 255)
			if s.Label(i)[c] != 1 {
				t.Fatalf("image %d shows digit %d, label %v", i, c, s.Label(i))
			}
			if b.n != 400 || b.y1-b.y0 != 19 || b.x1-b.x0 != 19 {
				t.Fatalf("image %d digit %d: %d pixels in a %d×%d box, want a whole 20×20", i, c, b.n, b.y1-b.y0+1, b.x1-b.x0+1)
			}
			// Unshifted, the ink box starts at 4 or 32 on each axis.
			dy, dx := b.y0-4, b.x0-4
			if b.y0 >= 28 {
				dy = 32 - b.y0
			}
			if b.x0 >= 28 {
				dx = 32 - b.x0
			}
			if dy < 0 || dy > J || dx < 0 || dx > J {
				t.Fatalf("image %d digit %d shifted by (%d, %d) towards the centre", i, c, dy, dx)
			}
			shifts[[2]int{dy, dx}]++
		}
	}
	if len(shifts) != (J+1)*(J+1) {
		t.Errorf("%d distinct shifts, want %d", len(shifts), (J+1)*(J+1))
	}
}

func TestErrors(t *testing.T) {
	src := synth(28, 28, 1, 0, 0)
	missing := &mnist.Set{Rows: 2, Cols: 2, Pixels: make([]uint8, 4*9), Labels: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8}}
	bad := []struct {
		name string
		src  *mnist.Set
		cfg  Config
	}{
		{"nil source", nil, Config{}},
		{"empty source", &mnist.Set{Rows: 28, Cols: 28}, Config{}},
		{"short pixels", &mnist.Set{Rows: 28, Cols: 28, Pixels: make([]uint8, 10), Labels: []uint8{1}}, Config{}},
		{"missing digit 9", missing, Config{}},
		{"min > max", src, Config{MinDigits: 3, MaxDigits: 2}},
		{"max 5", src, Config{MaxDigits: 5}},
		{"negative min", src, Config{MinDigits: -1}},
		{"jitter 8", src, Config{Jitter: 8}},
		{"negative jitter", src, Config{Jitter: -1}},
	}
	for _, b := range bad {
		if _, err := New(b.src, 1, b.cfg); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
	if _, err := New(src, 1, Config{Jitter: 7}); err != nil {
		t.Errorf("jitter 7: %v", err)
	}
	g, _ := New(src, 1, Config{})
	if err := g.Fill(make([]float32, 56*56), make([]float32, 11), 0); err == nil {
		t.Error("Fill with 11 label values: no error")
	}
	if err := g.Fill(make([]float32, 56*56-1), make([]float32, 10), 0); err == nil {
		t.Error("Fill with a short image buffer: no error")
	}
	if err := g.Fill(make([]float32, 56*56), make([]float32, 10), -1); err == nil {
		t.Error("Fill from image -1: no error")
	}
	if _, err := g.Generate(-1); err == nil {
		t.Error("Generate(-1): no error")
	}
	if s, err := g.Generate(0); err != nil || s.N != 0 {
		t.Errorf("Generate(0) = %+v, %v", s, err)
	}
}

func TestFillAllocs(t *testing.T) {
	g, _ := New(synth(28, 28, 2, 0, 0), 1, Config{})
	imgs, labs := make([]float32, 8*56*56), make([]float32, 8*Classes)
	if a := testing.AllocsPerRun(20, func() { _ = g.Fill(imgs, labs, 100) }); a > 2 {
		t.Errorf("Fill allocates %v times per call, want at most 2 (the random source)", a)
	}
}

// TestMNIST composes images from the real MNIST splits when the data is in
// the module cache.
func TestMNIST(t *testing.T) {
	dir, err := mnist.FindData()
	if err != nil {
		t.Skip(err)
	}
	train, test, err := mnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []*mnist.Set{train, test} {
		s, err := Generate(src, 500, 1, Config{Jitter: 4})
		if err != nil {
			t.Fatal(err)
		}
		if s.H != 56 || s.W != 56 {
			t.Fatalf("canvas %d×%d", s.H, s.W)
		}
		for i := range s.N {
			var k float32
			for _, l := range s.Label(i) {
				k += l
			}
			var ink float32
			for _, v := range s.Image(i) {
				if v < 0 || v > 1 {
					t.Fatalf("pixel %v", v)
				}
				ink += v
			}
			// An MNIST digit has roughly 100 ink pixels (sum of values).
			if ink < 20*k || ink > 300*k {
				t.Errorf("image %d: ink %v for %v digits", i, ink, k)
			}
		}
	}
}

func BenchmarkFill(b *testing.B) {
	g, err := New(synth(28, 28, 50, 0, 4), 1, Config{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 64
	imgs, labs := make([]float32, batch*56*56), make([]float32, batch*Classes)
	b.SetBytes(batch * 56 * 56 * 4)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = g.Fill(imgs, labs, i*batch)
	}
}
