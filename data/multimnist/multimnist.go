// Package multimnist composes multi-label images from MNIST digits, for
// comparing the multi-label softmax loss (1/M targets) with per-class sigmoid
// cross-entropy (SPEC §2.3, §2.4, §5).
//
// Each image is a canvas of 2×2 cells, each cell the size of one source
// image (28×28 for MNIST, so the canvas is 56×56). Image i is drawn as
// follows, from a random stream that depends only on the seed and i:
//
//  1. the number of digits K is uniform on {MinDigits, …, MaxDigits}
//     (by default {1, 2, 3, 4}, each with probability 1/4);
//  2. K distinct classes are drawn uniformly without replacement from the
//     ten digits, so every K-subset of {0, …, 9} is equally likely;
//  3. K distinct cells are drawn uniformly without replacement from the four;
//  4. for each class, one source image is drawn uniformly from the source
//     images with that label, and copied into its cell, shifted when
//     Config.Jitter > 0 (see Config).
//
// The label of an image is a multi-hot vector over the ten classes: 1 for
// each class placed, 0 for the others, so its number of ones is K. With the
// default configuration the label count K has P(K=k) = 1/4 for k = 1…4 and
// mean 2.5, each class is present with probability E[K]/10 = 1/4, and each
// cell holds a digit with probability E[K]/4 = 5/8.
//
// Pixels are the source pixels scaled to [0, 1] (pixel/255, as
// mnist.Set.ImageFloat32 does); cells without a digit are 0. With the
// default Jitter 0 the digits never overlap.
//
// A generator takes its source explicitly: build the training images from
// the MNIST training split and the test images from the test split, and no
// test digit is ever seen in training.
//
// Because image i depends only on (seed, i), a set can be generated in
// pieces (Generator.Fill into a caller's buffer, for example one batch at
// a time) and in parallel, with the same result as all at once. Memory:
// 60000 images of 56×56 float32 take 750 MB; generating batches on the fly
// with Fill avoids holding them.
package multimnist

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/xent-go/xent/data/mnist"
)

// Classes is the number of classes, and the length of each label vector.
const Classes = 10

// Grid is the number of cells along each side of the canvas.
const Grid = 2

// Config chooses how images are composed. The zero value is the default:
// one to four digits, no jitter.
type Config struct {
	// MinDigits and MaxDigits bound the number of digits per image, drawn
	// uniformly on {MinDigits, …, MaxDigits}; 0 means 1 and 4 respectively.
	// They must satisfy 1 ≤ MinDigits ≤ MaxDigits ≤ 4.
	MinDigits, MaxDigits int

	// Jitter, when positive, shifts each digit towards the centre of the
	// canvas by a number of pixels drawn uniformly from {0, …, Jitter},
	// independently along each axis; digits stay whole on the canvas.
	// Digits in neighbouring cells may then overlap by up to 2·Jitter
	// pixels, and where they overlap a pixel is the maximum of the two.
	// MNIST digits lie mostly in the central 20×20 box of their 28×28
	// image, so for Jitter ≤ 4 their strokes rarely touch. It must satisfy
	// 0 ≤ Jitter ≤ min(rows, cols)/4 of the source images (7 for MNIST).
	Jitter int
}

// A Set holds N multi-label images and their labels.
type Set struct {
	// N is the number of images; H and W are the canvas height and width
	// (56 and 56 for MNIST).
	N, H, W int
	// Images holds the images one after another, each row-major:
	// shape (N, H, W), values in [0, 1].
	Images []float32
	// Labels holds the multi-hot labels: shape (N, Classes), values 0 or 1.
	Labels []float32
}

// Image returns image i (a slice of s.Images).
func (s *Set) Image(i int) []float32 {
	n := s.H * s.W
	return s.Images[i*n : (i+1)*n : (i+1)*n]
}

// Label returns the label vector of image i (a slice of s.Labels).
func (s *Set) Label(i int) []float32 {
	return s.Labels[i*Classes : (i+1)*Classes : (i+1)*Classes]
}

// A Generator draws multi-label images from one source set. It is safe for
// concurrent use: it holds no random state, only the seed.
type Generator struct {
	src              *mnist.Set
	seed             uint64
	minK, maxK       int
	jitter           int
	rows, cols, h, w int
	byClass          [Classes][]int32 // source image indices of each class
}

// lut maps a pixel to [0, 1] exactly as mnist.Set.ImageFloat32 does.
var lut = func() (t [256]float32) {
	for p := range t {
		t[p] = float32(p) / 255
	}
	return t
}()

// New returns a generator of images composed from src with the given seed.
// It returns an error if the configuration is out of range, if src holds
// no images or images of zero size, or if some class has no source image.
func New(src *mnist.Set, seed uint64, cfg Config) (*Generator, error) {
	if src == nil || src.Len() == 0 || src.Rows <= 0 || src.Cols <= 0 {
		return nil, errors.New("multimnist: the source set holds no images")
	}
	if len(src.Pixels) != src.Len()*src.Rows*src.Cols {
		return nil, fmt.Errorf("multimnist: the source set holds %d pixels for %d images of %d×%d",
			len(src.Pixels), src.Len(), src.Rows, src.Cols)
	}
	g := &Generator{
		src: src, seed: seed,
		minK: cfg.MinDigits, maxK: cfg.MaxDigits, jitter: cfg.Jitter,
		rows: src.Rows, cols: src.Cols, h: Grid * src.Rows, w: Grid * src.Cols,
	}
	if g.minK == 0 {
		g.minK = 1
	}
	if g.maxK == 0 {
		g.maxK = Grid * Grid
	}
	if g.minK < 1 || g.minK > g.maxK || g.maxK > Grid*Grid {
		return nil, fmt.Errorf("multimnist: digits per image from %d to %d; want 1 ≤ MinDigits ≤ MaxDigits ≤ %d",
			g.minK, g.maxK, Grid*Grid)
	}
	if maxJ := min(src.Rows, src.Cols) / 4; g.jitter < 0 || g.jitter > maxJ {
		return nil, fmt.Errorf("multimnist: jitter %d; want 0 to %d for %d×%d source images",
			g.jitter, maxJ, src.Rows, src.Cols)
	}
	for i, l := range src.Labels {
		if int(l) >= Classes {
			return nil, fmt.Errorf("multimnist: source image %d has label %d, not a digit 0..9", i, l)
		}
		g.byClass[l] = append(g.byClass[l], int32(i))
	}
	for c, idx := range g.byClass {
		if len(idx) == 0 {
			return nil, fmt.Errorf("multimnist: the source set has no image of digit %d", c)
		}
	}
	return g, nil
}

// H returns the canvas height in pixels.
func (g *Generator) H() int { return g.h }

// W returns the canvas width in pixels.
func (g *Generator) W() int { return g.w }

// Fill writes images first, first+1, …, first+n−1 into images (shape
// (n, H, W)) and their labels into labels (shape (n, Classes)), where
// n = len(labels)/Classes. Every element of both is overwritten. The result
// does not depend on how a range of images is split between calls.
// It returns an error if the lengths do not match or first is negative.
func (g *Generator) Fill(images, labels []float32, first int) error {
	if len(labels)%Classes != 0 {
		return fmt.Errorf("multimnist: %d label values, not a multiple of %d", len(labels), Classes)
	}
	n := len(labels) / Classes
	if len(images) != n*g.h*g.w {
		return fmt.Errorf("multimnist: %d image values for %d images of %d×%d; want %d",
			len(images), n, g.h, g.w, n*g.h*g.w)
	}
	if first < 0 {
		return fmt.Errorf("multimnist: first image %d is negative", first)
	}
	var pcg rand.PCG
	r := rand.New(&pcg)
	size := g.h * g.w
	for i := range n {
		pcg.Seed(g.seed, mix(uint64(first+i)))
		g.draw(r, images[i*size:(i+1)*size], labels[i*Classes:(i+1)*Classes])
	}
	return nil
}

// Generate returns images 0, 1, …, n−1, generated in parallel.
// It returns an error if n is negative.
func (g *Generator) Generate(n int) (*Set, error) {
	if n < 0 {
		return nil, fmt.Errorf("multimnist: %d images", n)
	}
	s := &Set{N: n, H: g.h, W: g.w, Images: make([]float32, n*g.h*g.w), Labels: make([]float32, n*Classes)}
	const chunk = 256
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				hi := min(lo+chunk, n)
				// Lengths are consistent by construction: Fill cannot fail.
				_ = g.Fill(s.Images[lo*g.h*g.w:hi*g.h*g.w], s.Labels[lo*Classes:hi*Classes], lo)
			}
		})
	}
	wg.Wait()
	return s, nil
}

// Generate returns n images composed from src with the given seed and
// configuration; it is New followed by Generator.Generate.
func Generate(src *mnist.Set, n int, seed uint64, cfg Config) (*Set, error) {
	g, err := New(src, seed, cfg)
	if err != nil {
		return nil, err
	}
	return g.Generate(n)
}

// mix is SplitMix64's finaliser: it spreads consecutive image indices over
// the PCG's second seed word.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// draw composes one image into img (H×W) and its label into label, in the
// order of draws listed in the package documentation.
func (g *Generator) draw(r *rand.Rand, img, label []float32) {
	clear(img)
	clear(label)
	k := g.minK + r.IntN(g.maxK-g.minK+1)
	var classes [Classes]int
	for c := range classes {
		classes[c] = c
	}
	var cells [Grid * Grid]int
	for c := range cells {
		cells[c] = c
	}
	// Partial Fisher–Yates: the first k entries become a uniform k-subset.
	for j := range k {
		m := j + r.IntN(Classes-j)
		classes[j], classes[m] = classes[m], classes[j]
	}
	for j := range k {
		m := j + r.IntN(len(cells)-j)
		cells[j], cells[m] = cells[m], cells[j]
	}
	for j := range k {
		c := classes[j]
		idx := g.byClass[c]
		px := g.src.Image(int(idx[r.IntN(len(idx))]))
		row, col := cells[j]/Grid, cells[j]%Grid
		y0, x0 := row*g.rows, col*g.cols
		if g.jitter > 0 {
			dy, dx := r.IntN(g.jitter+1), r.IntN(g.jitter+1)
			// Towards the centre: the top/left cells move down/right.
			if row == 0 {
				y0 += dy
			} else {
				y0 -= dy
			}
			if col == 0 {
				x0 += dx
			} else {
				x0 -= dx
			}
			g.blitMax(img, px, y0, x0)
		} else {
			g.blit(img, px, y0, x0)
		}
		label[c] = 1
	}
}

// blit copies a source image into img at (y0, x0), over zeros.
func (g *Generator) blit(img []float32, px []uint8, y0, x0 int) {
	for y := range g.rows {
		dst := img[(y0+y)*g.w+x0 : (y0+y)*g.w+x0+g.cols]
		src := px[y*g.cols : (y+1)*g.cols]
		for x, p := range src {
			dst[x] = lut[p]
		}
	}
}

// blitMax writes the maximum of img and a source image at (y0, x0).
func (g *Generator) blitMax(img []float32, px []uint8, y0, x0 int) {
	for y := range g.rows {
		dst := img[(y0+y)*g.w+x0 : (y0+y)*g.w+x0+g.cols]
		src := px[y*g.cols : (y+1)*g.cols]
		for x, p := range src {
			dst[x] = max(dst[x], lut[p])
		}
	}
}
