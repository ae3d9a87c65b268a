package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateExample = flag.Bool("update-example", false, "rewrite testdata/example/ at the module root")

// exampleDir is the README's example, relative to this package.
var exampleDir = filepath.Join("..", "..", "testdata", "example")

// exampleFiles returns the content of the example: logits float32 (4, 5)
// and index targets int64 (4).
func exampleFiles(t *testing.T) map[string][]byte {
	logits := []float32{
		2.0, 1.0, 0.1, -1.0, 0.5,
		-0.3, 0.8, 2.2, 0.0, -1.5,
		0.0, 0.0, 0.0, 0.0, 0.0,
		1.5, -2.0, 0.3, 3.1, -0.7,
	}
	targets := []int64{0, 2, 4, 3}
	return map[string][]byte{
		"logits.npy":  npyBytes(t, []int{4, 5}, logits),
		"targets.npy": npyBytes(t, []int{4}, targets),
	}
}

// TestExampleData checks testdata/example/ against its generator; run
// "go test ./cmd/xent -run TestExampleData -update-example" to rewrite it.
func TestExampleData(t *testing.T) {
	files := exampleFiles(t)
	if *updateExample {
		if err := os.MkdirAll(exampleDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(exampleDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(exampleDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator; rerun with -update-example", name)
		}
	}
}
