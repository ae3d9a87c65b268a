package xent

import (
	"math"
	"sync/atomic"

	"github.com/xent-go/xent/internal/kernel"
)

// This file is the driver shared by the three softmax losses (index, dense
// and multi-label targets). Per position it makes two passes over the C
// logits, which stay in cache between them:
//
//  1. the max m and the sum of exp(s_c − m) in one online pass (a kernel),
//     then the loss kind's own terms over the same row (target terms,
//     validation);
//  2. the gradient g·(a·p_k − b_k), written as one scaled exponential
//     (a kernel) followed by the kind's correction −g·b_k.
//
// Spatial inputs (class stride > 1) are processed in blocks of positions,
// with kernels vectorised across the positions of a block.

// view addresses the C values of one position: element c is s[base+c*stride].
type view[T Float] struct {
	s            []T
	base, stride int
}

func (v view[T]) at(c int) T { return v.s[v.base+c*v.stride] }

// sub subtracts x from element c.
func (v view[T]) sub(c int, x float64) {
	i := v.base + c*v.stride
	v.s[i] = T(float64(v.s[i]) - x)
}

// terms is what a loss kind reports about one counted position.
type terms struct {
	loss   float64 // ℓ of the position, before the upstream gradient
	a      float64 // ∂ℓ/∂s_k = a·p_k − b_k
	finite int     // C', the classes whose logit is finite (when computed)
	m      int     // M, the labels of a multi-label position
	slow   bool    // masked classes with smoothing: use the per-element path
}

// softmaxKind is one loss family of SPEC 2.1–2.3.
type softmaxKind[T Float] interface {
	// skip reports whether the position is left out without reading its
	// logits (an ignored index target, a multi-label row without labels).
	skip(pos int) bool
	// terms validates the targets of the position whose logits are v
	// (m their max, logSum = log Σ exp(s_c − m)) and returns its terms.
	terms(v view[T], pos int, m, logSum float64) (terms, error)
	// correct subtracts g·b_k from the gradient d of the position; it reads
	// targets only, so d may have overwritten the logits.
	correct(d view[T], pos int, g float64, t terms)
	// coef returns b_c for a class c with a finite logit (slow path).
	coef(pos, c int, t terms) float64
}

// chunkResult is what one chunk of positions adds up to.
type chunkResult struct {
	loss    float64
	counted int
	left    int // positions skipped or ignored
	err     error
	block   blockLoss // the current spatial block's losses
}

// softmaxCall is the state of one call of a softmax loss.
type softmaxCall[T Float] struct {
	op     string
	l      layout
	logits []T
	grad   []T
	kind   softmaxKind[T]
	fast   fastPath[T] // nil unless the kind's fast loops apply

	g        float64 // upstream gradient of each loss for Mean and Sum
	upstream []T     // per-position upstream gradient for None, or nil
	losses   []float64

	block         int // positions per spatial block (L)
	blocksPerN    int
	unitsPerChunk int
	units         int
	parts         []chunkResult
	firstErr      atomic.Int64
}

// run computes the loss; g is the upstream gradient for Mean and Sum, and
// losses receives the per-position values when not nil.
func (c *softmaxCall[T]) run(threads int) (total sums, counted, left int, err error) {
	l := c.l
	if l.P == 0 {
		return total, 0, 0, nil
	}
	if l.inner == 1 {
		c.block, c.blocksPerN = 1, 1
	} else {
		L := min((8192/l.C)&^15, maxBlock)
		L = max(L, 16)
		c.block = min(L, l.inner)
		c.blocksPerN = (l.inner + c.block - 1) / c.block
	}
	c.units = l.N * c.blocksPerN
	c.unitsPerChunk = unitsPerChunk(c.units, max(l.C*c.block, 1), l.inner == 1)
	chunks := (c.units + c.unitsPerChunk - 1) / c.unitsPerChunk
	c.parts = grow(c.parts, chunks)
	clear(c.parts)
	c.firstErr.Store(int64(chunks))
	parallel(c, chunks, threads)

	for i := range c.parts {
		p := &c.parts[i]
		if p.err != nil {
			return total, 0, 0, p.err
		}
		total.add(p.loss, c.g)
		counted += p.counted
		left += p.left
	}
	return total, counted, left, nil
}

func (c *softmaxCall[T]) runChunk(chunk int) {
	if int64(chunk) > c.firstErr.Load() {
		return
	}
	p := &c.parts[chunk]
	lo := chunk * c.unitsPerChunk
	hi := min(lo+c.unitsPerChunk, c.units)
	switch {
	case c.l.inner == 1 && c.fast != nil:
		c.fast.fastRows(c, p, lo, hi)
	case c.l.inner == 1:
		for u := lo; u < hi && p.err == nil; u++ {
			c.row(p, u)
		}
	default:
		for u := lo; u < hi && p.err == nil; u++ {
			c.spatialBlock(p, u/c.blocksPerN, (u%c.blocksPerN)*c.block)
		}
	}
	if p.err != nil {
		for {
			old := c.firstErr.Load()
			if int64(chunk) >= old || c.firstErr.CompareAndSwap(old, int64(chunk)) {
				break
			}
		}
	}
}

// upstreamOf returns the upstream gradient of position pos.
func (c *softmaxCall[T]) upstreamOf(pos int) (float64, error) {
	if c.upstream == nil {
		return c.g, nil
	}
	g := float64(c.upstream[pos])
	if !isFinite(g) {
		return 0, &InputError{Op: c.op, What: "upstream gradient", Position: pos, Class: -1,
			Value: g, HasValue: true, Shape: c.l.shape, Err: ErrOption}
	}
	return g, nil
}

// position finishes the pass-1 work of a counted position: checks of the
// logits, the kind's terms, the upstream gradient and overflow.
func (c *softmaxCall[T]) position(v view[T], pos int, m, sum float64, nan bool) (terms, float64, error) {
	if nan || math.IsInf(m, 0) {
		return terms{}, 0, c.logitError(v, pos)
	}
	t, err := c.kind.terms(v, pos, m, math.Log(sum))
	if err != nil {
		if e, ok := err.(*InputError); ok {
			e.Op, e.Shape = c.op, c.l.shape
		}
		return t, 0, err
	}
	g, err := c.upstreamOf(pos)
	if err != nil {
		return t, 0, err
	}
	if !isFinite(t.loss) || !(math.Abs(g*t.a) <= maxFloat[T]()) {
		return t, 0, &InputError{Op: c.op, What: "loss", Position: pos, Class: -1,
			Shape: c.l.shape, Err: ErrOverflow}
	}
	if c.losses != nil {
		c.losses[pos] = t.loss
	}
	return t, g, nil
}

// logitError names the first NaN or +Inf logit of a position, or says that
// all its logits are −Inf.
func (c *softmaxCall[T]) logitError(v view[T], pos int) error {
	for k := 0; k < c.l.C; k++ {
		if s := float64(v.at(k)); math.IsNaN(s) || math.IsInf(s, 1) {
			return &InputError{Op: c.op, What: "logits", Position: pos, Class: k,
				Value: s, HasValue: true, Shape: c.l.shape, Err: ErrLogit}
		}
	}
	return &InputError{Op: c.op, What: "logits", Position: pos, Class: -1,
		Shape: c.l.shape, Err: ErrLogit, Detail: "every logit is −Inf"}
}

// row processes position pos of an (N, C) input.
func (c *softmaxCall[T]) row(p *chunkResult, pos int) {
	if c.fast != nil && c.fast.fastRow(c, p, pos) {
		return
	}
	C := c.l.C
	s := c.logits[pos*C : pos*C+C]
	if c.kind.skip(pos) {
		p.left++
		if c.grad != nil {
			zero(c.grad[pos*C : pos*C+C])
		}
		return
	}
	m, sum, nan := maxSumExp(s)
	v := view[T]{c.logits, pos * C, 1}
	t, g, err := c.position(v, pos, m, sum, nan)
	if err != nil {
		p.err = err
		return
	}
	p.loss += t.loss
	p.counted++
	if c.grad == nil {
		return
	}
	d := view[T]{c.grad, pos * C, 1}
	if t.slow {
		c.slowGrad(d, v, pos, m, sum, g, t)
		return
	}
	expScale(c.grad[pos*C:pos*C+C], s, m, g*t.a/sum)
	c.kind.correct(d, pos, g, t)
}

// slowGrad writes the gradient of one position element by element, reading
// each logit before it writes the same element (so in place is safe).
func (c *softmaxCall[T]) slowGrad(d, v view[T], pos int, m, sum, g float64, t terms) {
	for k := 0; k < c.l.C; k++ {
		s := float64(v.at(k))
		x := 0.0
		if !math.IsInf(s, -1) {
			x = (g*t.a/sum)*math.Exp(s-m) - g*c.kind.coef(pos, k, t)
		}
		d.s[d.base+k*d.stride] = T(x)
	}
}

// spatialBlock processes the positions j0 … j0+L−1 of sample n of an
// (N, C, d1..dk) input, vectorised across the positions.
func (c *softmaxCall[T]) spatialBlock(p *chunkResult, n, j0 int) {
	bl := &p.block // in p: on the stack, the interface call would move it to the heap
	L := min(c.block, c.l.inner-j0)
	if c.fast == nil || !c.fast.fastBlock(c, p, n, j0, bl) {
		c.spatialSpan(p, n, j0, L, bl)
	}
	p.loss += bl.total(L)
}

// blockLoss holds the losses of a spatial block's positions (0 for those
// ignored or skipped), which total adds up with the vector sum kernel
// (a chain of additions, position after position, held up the
// per-position loops of the float32 forward; four chains in Go still cost
// 3% of a 128×128 call). Every path that takes a block, and the generic
// path that may finish one, fills it the same way, so they agree bit for
// bit. A fast path that bails out may leave it partly written; the generic
// path then writes every entry of the block again.
type blockLoss [maxBlock]float64

// maxBlock is the most positions a spatial block has.
const maxBlock = 256

// total is the sum of the first L losses.
func (b *blockLoss) total(L int) float64 { return kernel.Sum64(b[:L]) }

// spatialSpan is spatialBlock for the L positions from j0 (L ≤ the block
// size, j0 at or after the block's start), without the fast path, adding
// the losses into bl.
func (c *softmaxCall[T]) spatialSpan(p *chunkResult, n, j0, L int, bl *blockLoss) {
	first := j0 % c.block // the block-relative index of j0
	C, inner := c.l.C, c.l.inner
	base, span := c.spanAt(n, j0, L)
	s := c.logits[base : base+span]

	var mBuf, sumBuf, scaleBuf [256]T
	var tBuf [256]terms
	var gBuf [256]float64
	var skipped [256]bool
	m, sum, scale := mBuf[:L], sumBuf[:L], scaleBuf[:L]
	nan := maxSumExpCols(m, sum, s, C, inner)

	slow := false
	for j := 0; j < L; j++ {
		pos := n*inner + j0 + j
		if skipped[j] = c.kind.skip(pos); skipped[j] {
			p.left++
			m[j], scale[j], bl[first+j] = 0, 0, 0
			continue
		}
		v := view[T]{c.logits, base + j, inner}
		colNaN := false
		if nan {
			for k := 0; k < C && !colNaN; k++ {
				colNaN = v.at(k) != v.at(k)
			}
		}
		t, g, err := c.position(v, pos, float64(m[j]), float64(sum[j]), colNaN)
		if err != nil {
			p.err = err
			return
		}
		bl[first+j] = t.loss
		p.counted++
		tBuf[j], gBuf[j] = t, g
		scale[j] = T(g * t.a / float64(sum[j]))
		slow = slow || t.slow
	}
	if c.grad == nil {
		return
	}
	if slow {
		// Rare: masked classes with label smoothing. Write every column
		// element by element (reading the logits before overwriting them).
		for j := 0; j < L; j++ {
			d := view[T]{c.grad, base + j, inner}
			if skipped[j] {
				zeroColumn(c.grad[base:base+span], C, inner, j)
				continue
			}
			v := view[T]{c.logits, base + j, inner}
			c.slowGrad(d, v, n*inner+j0+j, float64(m[j]), float64(sum[j]), gBuf[j], tBuf[j])
		}
		return
	}
	expScaleCols(c.grad[base:base+span], s, C, inner, m, scale)
	for j := 0; j < L; j++ {
		if skipped[j] {
			zeroColumn(c.grad[base:base+span], C, inner, j)
			continue
		}
		c.kind.correct(view[T]{c.grad, base + j, inner}, n*inner+j0+j, gBuf[j], tBuf[j])
	}
}

// blockAt returns the geometry of the spatial block of sample n that starts
// at position j0 of its d1···dk positions: its L positions, where its
// class-0 logit starts in the flat logits, the span from there to its last
// logit, and its first flat position index.
func (c *softmaxCall[T]) blockAt(n, j0 int) (L, base, span, pos0 int) {
	L = min(c.block, c.l.inner-j0)
	base, span = c.spanAt(n, j0, L)
	return L, base, span, n*c.l.inner + j0
}

// spanAt is blockAt for L positions from j0: where their class-0 logit
// starts and the span to their last logit.
func (c *softmaxCall[T]) spanAt(n, j0, L int) (base, span int) {
	C, inner := c.l.C, c.l.inner
	return n*C*inner + j0, (C-1)*inner + L
}

// zeroColumn zeroes position j of a block whose C values lie stride apart.
func zeroColumn[T Float](d []T, C, stride, j int) {
	for k := range C {
		d[k*stride+j] = 0
	}
}
