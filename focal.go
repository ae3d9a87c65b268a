package xent

import (
	"fmt"
	"math"
)

// Focal holds the parameters of the focal loss (Lin et al., "Focal Loss for
// Dense Object Detection", 2017). The zero value is γ = 0 without α, which is
// the sigmoid cross-entropy; DefaultFocal is the usual γ = 2 without α.
type Focal struct {
	// Gamma is the focusing parameter γ ≥ 0 (finite).
	Gamma float64
	// Alpha is the balancing weight α in [0, 1]: an element with target t
	// is weighted by α·t + (1−α)·(1−t), so α for a positive and 1−α for a
	// negative. It is used only when UseAlpha is true.
	Alpha float64
	// UseAlpha turns the α weighting on. Without it no α factor is applied
	// (which is not the same as α = 0.5: that halves the loss).
	UseAlpha bool
}

// DefaultFocal returns γ = 2 without α, the default users expect (and
// torchvision's gamma with alpha = -1).
func DefaultFocal() Focal { return Focal{Gamma: 2} }

// WithAlpha returns f with the α weighting turned on, α = alpha.
func (f Focal) WithAlpha(alpha float64) Focal {
	f.Alpha, f.UseAlpha = alpha, true
	return f
}

// String describes f, e.g. "focal(γ=2)" or "focal(γ=2, α=0.25)".
func (f Focal) String() string {
	if f.UseAlpha {
		return fmt.Sprintf("focal(γ=%g, α=%g)", f.Gamma, f.Alpha)
	}
	return fmt.Sprintf("focal(γ=%g)", f.Gamma)
}

// check validates f for the entry point op.
func (f Focal) check(op string) error {
	if math.IsNaN(f.Gamma) || f.Gamma < 0 || math.IsInf(f.Gamma, 1) {
		return errorf(op, ErrOption, "focal γ %v is not a finite number ≥ 0", f.Gamma)
	}
	if f.UseAlpha && (math.IsNaN(f.Alpha) || f.Alpha < 0 || f.Alpha > 1) {
		return errorf(op, ErrOption, "focal α %v is outside [0, 1]", f.Alpha)
	}
	return nil
}

// focalParams are a validated Focal.
type focalParams struct {
	gamma    float64
	alpha    float64
	useAlpha bool
}

// SigmoidFocal computes the sigmoid focal loss, elementwise over every class
// of every position, with torchvision's definition (sigmoid_focal_loss),
// which also takes soft targets t in [0, 1]:
//
//	p = σ(s),  ce = max(s,0) − s·t + log(1 + exp(−|s|))   (the sigmoid cross-entropy)
//	1 − p_t = t·σ(−s) + (1−t)·σ(s)                        (p_t = p·t + (1−p)·(1−t))
//	ℓ = w_c·α_t·(1 − p_t)^γ·ce,  α_t = α·t + (1−α)·(1−t), or 1 without α
//
// and its derivative
//
//	∂ℓ/∂s = w_c·α_t·(1 − p_t)^γ·(σ(s) − t + γ·ce·(1−2t)·σ(s)·σ(−s)/(1 − p_t)).
//
// 1 − p_t is computed as written above, never as 1 − p_t, so that it keeps
// its precision when p_t is near 1; where it is 0 (only when t is 0 or 1 and
// σ saturates) the loss and the gradient are 0 for γ > 0. With γ = 0 and no
// α this is SigmoidCrossEntropy, bit for bit; α = 0.5 halves it.
//
// Everything else is SigmoidCrossEntropy's: targets and Options.Upstream
// have one value per element; Mean divides by P·C, None keeps one loss per
// element; class weights w_c multiply; a −Inf logit with target 0 (or a zero
// coefficient w_c·α_t) contributes 0 with a zero gradient; label smoothing
// and an ignore index are refused. Unlike the sigmoid cross-entropy, a
// target above 1 is an error (ErrTarget): (1 − p_t)^γ is not defined there.
// γ < 0, NaN or +Inf, or α outside [0, 1] with UseAlpha, is ErrOption.
//
// It returns an error wrapping one of the package's sentinel errors on bad
// input; grad is then all zeros.
func SigmoidFocal[T Float](grad, logits []T, shape []int, targets []T, focal Focal, opts *Options[T]) (Result, error) {
	const op = "SigmoidFocal"
	err := focal.check(op)
	var r Result
	if err == nil {
		f := focalParams{gamma: focal.Gamma, alpha: focal.Alpha, useAlpha: focal.UseAlpha}
		r, err = elementwise(op, grad, logits, shape, targets, opts, &f)
	}
	return r, failed(err, grad, opts)
}

// focalTerm returns the focal loss of one element and its derivative with
// respect to the logit s, or an error without Op, Shape and place.
func focalTerm(s, t, w float64, f *focalParams) (loss, grad float64, err error) {
	if !(t >= 0 && t <= 1) {
		return 0, 0, &InputError{What: "targets", Value: t, HasValue: true,
			Err: ErrTarget, Detail: "a focal target must be in [0, 1]"}
	}
	if math.IsNaN(s) || math.IsInf(s, 1) {
		return 0, 0, &InputError{What: "logits", Value: s, HasValue: true, Err: ErrLogit}
	}
	a := w // the coefficient w_c·α_t
	if f.useAlpha {
		a = w * (f.alpha*t + (1-f.alpha)*(1-t))
	}
	if math.IsInf(s, -1) {
		if a*t > 0 {
			return 0, 0, &InputError{What: "targets", Value: t, HasValue: true, Err: ErrMasked,
				Detail: "an element whose logit is −Inf has a positive target"}
		}
		return 0, 0, nil
	}
	if a == 0 {
		return 0, 0, nil
	}
	// σ(s) and σ(−s) without overflow, the cross-entropy as in sigmoidTerm.
	e := math.Exp(-math.Abs(s))
	sig, sbar := 1/(1+e), e/(1+e)
	if s < 0 {
		sig, sbar = sbar, sig
	}
	ce := math.Max(s, 0) - s*t + math.Log1p(e)
	d := sig - t
	if f.gamma == 0 {
		return a * ce, a * d, nil
	}
	q := t*sbar + (1-t)*sig // 1 − p_t, in [0, 1]
	mod := math.Pow(q, f.gamma)
	if mod == 0 {
		// q = 0, or q^γ underflows: the loss and its derivative (which has
		// the factor q^γ, or q^(γ−1)·σ(s)·σ(−s) ≤ q^γ) vanish.
		return 0, 0, nil
	}
	// (1−2t)·σ(s)·σ(−s)/q is ∂q/∂s / q, in [−1, 1].
	// ce·(that) first: γ·ce may overflow where the product is 0.
	d += f.gamma * (ce * ((1 - 2*t) * sig * sbar / q))
	loss, grad = a*mod*ce, a*mod*d
	if !isFinite(grad) {
		return 0, 0, &InputError{What: "loss gradient", Err: ErrOverflow}
	}
	return loss, grad, nil
}
