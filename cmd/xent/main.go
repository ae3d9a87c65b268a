// Command xent computes softmax cross-entropy losses and their gradients
// from NumPy files, and (in later versions) trains and evaluates the
// package's CNN on MNIST.
//
// Usage:
//
//	xent <command> [flags]
//
// The commands are:
//
//	loss    compute a loss and its gradient from .npy files (SPEC section 4)
//
// Run "xent help <command>" or "xent <command> --help" for a command's
// flags. Help goes to standard output and exits 0.
//
// Exit status: 0 on success, 2 for a usage error (unknown command or flag,
// a missing or malformed flag value, flags that do not go together), 1 for
// bad input (a malformed or inconsistent file, invalid values in the data)
// or an I/O failure. Every error is one line on standard error that starts
// with "xent:".
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
