// Command xent computes softmax cross-entropy losses and their gradients
// from NumPy files, and trains and evaluates a CNN (package nn) on MNIST.
//
// Usage:
//
//	xent <command> [flags]
//
// The commands are:
//
//	loss    compute a loss and its gradient from .npy files (SPEC section 4)
//	train   train a LeNet-style CNN on MNIST (or multi-digit MNIST)
//	eval    evaluate a trained checkpoint on the test set
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
