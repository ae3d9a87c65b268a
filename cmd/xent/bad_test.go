package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/xent-go/xent/nn"
)

// The corpus in testdata/bad and what each file must do is described by
// badCorpus (badgen_test.go); see testdata/bad/README.md.

// runSafe calls run in-process and turns a panic into a failure with its
// stack, so that one bad file cannot hide the others.
func runSafe(t *testing.T, args []string) (code int, stdout, stderr string, panicked bool) {
	t.Helper()
	var out, errb bytes.Buffer
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked = true
				t.Errorf("xent %s: panic: %v\n%s", strings.Join(args, " "), r, debug.Stack())
			}
		}()
		code = run(args, &out, &errb)
	}()
	return code, out.String(), errb.String(), panicked
}

// expandArgs replaces $BAD and $OUT in a corpus command line.
func expandArgs(args []string, out string) []string {
	res := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, "$BAD", filepath.ToSlash(badRoot))
		res[i] = strings.ReplaceAll(a, "$OUT", out)
	}
	return res
}

// leftFiles lists the files (at any depth) in dir, which may not exist.
func leftFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

// needCommand skips the test when the command is not registered.
func needCommand(t *testing.T, name string) {
	t.Helper()
	for _, mk := range commands {
		if mk().Name == name {
			return
		}
	}
	t.Skipf("xent %s not registered yet", name)
}

func TestBadCorpus(t *testing.T) {
	files, err := badCorpus()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(badRoot); err != nil {
		t.Fatalf("no corpus: %v", err)
	}
	for _, f := range files {
		for i, args := range append(f.ok, f.runs...) {
			good := i < len(f.ok)
			t.Run(f.path+"/"+args[0], func(t *testing.T) {
				needCommand(t, args[0])
				out := filepath.Join(t.TempDir(), "out")
				argv := expandArgs(args, out)
				code, stdout, stderr, panicked := runSafe(t, argv)
				if panicked {
					return
				}
				cmdline := "xent " + strings.Join(argv, " ")
				if good {
					if code != 0 {
						t.Errorf("%s: exit %d, want 0 (a valid counterpart); stderr %q", cmdline, code, stderr)
					}
					return
				}
				if code != 1 {
					t.Errorf("%s: exit %d, want 1", cmdline, code)
				}
				if !strings.HasPrefix(stderr, "xent:") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
					t.Errorf("%s: stderr is not one line starting with \"xent:\": %q", cmdline, stderr)
				}
				// The message names the bad file, or for a data folder
				// the folder (or the missing file's name).
				name := filepath.ToSlash(filepath.Join(badRoot, filepath.FromSlash(f.path)))
				if strings.HasPrefix(f.path, "idx/") {
					name = filepath.ToSlash(filepath.Join(badRoot, filepath.FromSlash(f.path[:strings.LastIndex(f.path, "/")])))
				}
				if f.mention != "" {
					name = f.mention
				}
				if !strings.Contains(stderr, name) {
					t.Errorf("%s: stderr does not name %s: %q", cmdline, name, stderr)
				}
				if argv[0] != "train" && stdout != "" {
					t.Errorf("%s: stdout %q, want nothing", cmdline, stdout)
				}
				if left := leftFiles(t, out); len(left) > 0 {
					t.Errorf("%s: files left in --out: %v", cmdline, left)
				}
				if t.Failed() {
					t.Logf("%s: %s", f.path, f.why)
				} else if testing.Verbose() {
					t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
				}
			})
		}
	}
}

// TestBadCorpusAPI feeds the corpus to the readers directly: each must
// return an error, not panic and not succeed.
func TestBadCorpusAPI(t *testing.T) {
	files, err := badCorpus()
	if err != nil {
		t.Fatal(err)
	}
	try := func(t *testing.T, what string, f func() error) {
		t.Helper()
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
					t.Errorf("%s: %v", what, err)
					err = nil
				}
			}()
			err = f()
		}()
		if err == nil && !t.Failed() {
			t.Errorf("%s: no error", what)
		}
	}
	// restore reads a checkpoint and restores it into the network its
	// meta describes, as xent eval and train --resume do.
	restore := func(path string, withOpt bool) error {
		ck, err := nn.ReadCheckpointFile(path)
		if err != nil {
			return err
		}
		meta, err := decodeMeta(path, ck.Meta)
		if err != nil {
			return err
		}
		net, err := meta.Config.newNet()
		if err != nil {
			return err
		}
		var opt nn.Optimizer
		if withOpt {
			opt = meta.Config.newOptimizer()
		}
		return net.Restore(ck, opt)
	}
	seenDir := map[string]bool{}
	for _, f := range files {
		p := filepath.Join(badRoot, filepath.FromSlash(f.path))
		switch {
		case f.runs == nil || f.readerOK:
			// Valid files, and well-formed ones only the command
			// refuses; TestBadCorpus runs them.
			continue
		case strings.HasPrefix(f.path, "npy/malformed/"):
			t.Run(f.path, func(t *testing.T) {
				try(t, "readNpyFile", func() error { _, err := readNpyFile(p); return err })
			})
		case strings.HasPrefix(f.path, "idx/"):
			dir := filepath.Dir(p)
			if seenDir[dir] {
				continue
			}
			seenDir[dir] = true
			t.Run(f.path, func(t *testing.T) {
				try(t, "loadData", func() error { _, _, err := loadData(dir, "single", 1, 0, 0); return err })
			})
		case strings.HasPrefix(f.path, "ckpt/"):
			t.Run(f.path, func(t *testing.T) {
				try(t, "read and restore", func() error { return restore(p, false) })
			})
		}
	}
}
