package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A Command is one subcommand of xent, in the manner of cmd/go's
// base.Command.
type Command struct {
	// Name is the word that selects the command, e.g. "loss".
	Name string
	// UsageLine is the one-line synopsis, e.g. "xent loss --logits L.npy ...".
	UsageLine string
	// Short is the description shown in "xent help".
	Short string
	// Long is the description shown in "xent help <command>".
	Long string
	// Flag holds the command's flags; it uses flag.ContinueOnError.
	Flag *flag.FlagSet
	// Run executes the command after its flags are parsed; args are the
	// remaining arguments. A returned error is reported on one line.
	Run func(cmd *Command, args []string, stdout io.Writer) error
}

// commands lists the constructors of the subcommands, in the order "xent
// help" shows them. Adding a subcommand is one line here plus its file.
// Each call to run builds fresh commands, so flag state never leaks between
// calls (the tests call run many times).
var commands = []func() *Command{
	lossCommand,
	trainCommand,
	evalCommand,
	benchCommand,
	experimentCommand,
}

// usageError marks an error as a usage error (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// run is the whole program: it parses args, runs the selected command and
// returns the exit status. Errors are written to stderr as one line starting
// with "xent:"; help is written to stdout.
func run(args []string, stdout, stderr io.Writer) int {
	cmds := make([]*Command, len(commands))
	for i, mk := range commands {
		cmds[i] = mk()
	}
	fail := func(code int, err error) int {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(stderr, "xent: %s\n", msg)
		return code
	}
	if len(args) == 0 {
		return fail(2, errors.New("no command given; run 'xent help' for usage"))
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 2 || (len(args) == 2 && name != "help") {
			return fail(2, errors.New("usage: xent help [command]"))
		}
		if len(args) == 2 {
			c := lookup(cmds, args[1])
			if c == nil {
				return fail(2, fmt.Errorf("unknown help topic %q; run 'xent help'", args[1]))
			}
			printCommandHelp(stdout, c)
			return 0
		}
		printMainHelp(stdout, cmds)
		return 0
	}
	c := lookup(cmds, name)
	if c == nil {
		return fail(2, fmt.Errorf("unknown command %q; run 'xent help' for the list", name))
	}
	c.Flag.SetOutput(io.Discard) // errors are reported by run, help by printCommandHelp
	if err := c.Flag.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, c)
			return 0
		}
		return fail(2, fmt.Errorf("%s: %v; run 'xent %s --help'", c.Name, err, c.Name))
	}
	if err := c.Run(c, c.Flag.Args(), stdout); err != nil {
		if errors.As(err, new(usageError)) {
			return fail(2, fmt.Errorf("%s: %v; run 'xent %s --help'", c.Name, err, c.Name))
		}
		return fail(1, fmt.Errorf("%s: %v", c.Name, err))
	}
	return 0
}

func lookup(cmds []*Command, name string) *Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func printMainHelp(w io.Writer, cmds []*Command) {
	fmt.Fprint(w, "xent computes softmax cross-entropy losses and their gradients.\n\n")
	fmt.Fprint(w, "Usage:\n\n\txent <command> [flags]\n\nThe commands are:\n\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "\t%-10s %s\n", c.Name, c.Short)
	}
	fmt.Fprint(w, "\nRun 'xent help <command>' or 'xent <command> --help' for more.\n")
	fmt.Fprint(w, "Exit status: 0 success, 1 bad input or I/O failure, 2 usage error.\n")
}

func printCommandHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.UsageLine, strings.TrimSpace(c.Long))
	var any bool
	c.Flag.VisitAll(func(*flag.Flag) { any = true })
	if any {
		fmt.Fprint(w, "\nFlags:\n")
		c.Flag.SetOutput(w)
		c.Flag.PrintDefaults()
		c.Flag.SetOutput(io.Discard)
	}
}
