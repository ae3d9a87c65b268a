package xent

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for callers that need to branch on the kind of bad input.
// Every error returned by the package wraps one of them; most arrive inside
// an *InputError that says where the problem is.
var (
	// ErrShape: a shape or length does not fit.
	ErrShape = errors.New("shape mismatch")
	// ErrTarget: a target is out of range, negative, NaN or infinite.
	ErrTarget = errors.New("invalid target")
	// ErrWeight: a class weight is negative, NaN or infinite.
	ErrWeight = errors.New("invalid weight")
	// ErrLogit: a logit of a counted position is NaN or +Inf, or all its
	// logits are −Inf.
	ErrLogit = errors.New("invalid logit")
	// ErrMasked: a positive coefficient sits on a class whose logit is −Inf.
	ErrMasked = errors.New("target on a masked (−Inf) class")
	// ErrOption: an option is out of range or does not apply to the loss.
	ErrOption = errors.New("invalid option")
	// ErrOverflow: the inputs are finite but the loss is not representable.
	ErrOverflow = errors.New("loss overflows")
)

// InputError reports bad input at a place in the data.
type InputError struct {
	Op       string  // the entry point, e.g. "CrossEntropy"
	What     string  // the operand, e.g. "logits", "targets", "weights"
	Position int     // flat position index in [0, P), or -1
	Class    int     // class index, or -1
	Value    float64 // the offending value, when there is one
	HasValue bool
	Shape    []int  // the logits' shape, to print the position's coordinates
	Err      error  // one of the sentinel errors
	Detail   string // what is wrong, in words, when the sentinel is not enough
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.What)
	if e.Position >= 0 {
		b.WriteString(" at ")
		b.WriteString(positionString(e.Shape, e.Position))
	}
	if e.Class >= 0 {
		fmt.Fprintf(&b, ", class %d", e.Class)
	}
	if e.HasValue {
		fmt.Fprintf(&b, " (value %v)", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *InputError) Unwrap() error { return e.Err }

// positionString names a flat position: "row 3" for (N, C) shapes and
// "position 17 (n 1, d [2 3])" for spatial ones.
func positionString(shape []int, pos int) string {
	if len(shape) <= 2 {
		return fmt.Sprintf("row %d", pos)
	}
	inner := 1
	for _, d := range shape[2:] {
		inner *= d
	}
	if inner == 0 {
		return fmt.Sprintf("position %d", pos)
	}
	n, j := pos/inner, pos%inner
	coords := make([]int, len(shape)-2)
	for i := len(coords) - 1; i >= 0; i-- {
		coords[i] = j % shape[i+2]
		j /= shape[i+2]
	}
	return fmt.Sprintf("position %d (n %d, d %v)", pos, n, coords)
}

func errorf(op string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", op, fmt.Sprintf(format, args...), sentinel)
}
