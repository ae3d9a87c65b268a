package xent

import (
	"math"

	"github.com/xent-go/xent/internal/kernel"
)

// The common case of index targets, without label smoothing and without a
// per-position upstream gradient, gets its own straight-line loops: per
// position one target logit, one log and one subtraction, with none of the
// generic driver's per-position calls. They compute exactly what the
// generic path computes, in the same order; on anything unusual (a NaN, an
// infinite max, a masked target, an overflow) they return false before
// writing anything, and the generic path, which finds and reports the
// problem, takes the position or block again. (The fused float32 block
// writes the positions before the unusual one and hands the generic path
// the rest of the block.)

// fastPath is the optional interface of a kind with such loops.
type fastPath[T Float] interface {
	fastRows(c *softmaxCall[T], p *chunkResult, lo, hi int)
	fastRow(c *softmaxCall[T], p *chunkResult, pos int) bool
	fastBlock(c *softmaxCall[T], p *chunkResult, n, j0 int, bl *blockLoss) bool
}

// fastEligible reports whether the fast loops apply to this call.
func (k *indexKind[T, I]) fastEligible(c *softmaxCall[T]) bool {
	return k.set.eps == 0 && c.upstream == nil
}

func (k *indexKind[T, I]) fastRow(c *softmaxCall[T], p *chunkResult, pos int) bool {
	C := k.C
	y := int64(k.targets[pos])
	if y == int64(k.set.ignore) {
		p.left++
		if c.grad != nil {
			zero(c.grad[pos*C : pos*C+C])
		}
		return true
	}
	if c.grad != nil && threePass[T]() {
		var one rowLosses
		var pend pendingRow[T]
		m, nan := maxOf(c.logits[pos*C : pos*C+C])
		ok, _, _ := k.fastRow3(c, &one, &pend, pos, int(y), m, nan, nil)
		pend.finish(false)
		one.flush(c.losses, p)
		return ok
	}
	s := c.logits[pos*C : pos*C+C]
	m, sum, nan := maxSumExp(s)
	if nan || math.IsInf(m, 0) {
		return false
	}
	w := k.set.weight(int(y))
	loss := 0.0
	if w != 0 {
		sy := float64(s[y])
		if math.IsInf(sy, -1) {
			return false
		}
		loss = w * ((m - sy) + math.Log(sum))
	}
	gw := c.g * w
	if !isFinite(loss) || !(math.Abs(gw) <= maxFloat[T]()) {
		return false
	}
	if c.losses != nil {
		c.losses[pos] = loss
	}
	p.loss += loss
	p.counted++
	if c.grad != nil {
		d := c.grad[pos*C : pos*C+C]
		expScale(d, s, m, gw/sum)
		d[y] = T(float64(d[y]) - gw)
	}
	return true
}

func (k *indexKind[T, I]) fastBlock(c *softmaxCall[T], p *chunkResult, n, j0 int, bl *blockLoss) bool {
	if is32[T]() && k.C <= maxFusedC && fusedCols && kernel.HasSoftmaxCols() {
		return k.fusedBlock(c, p, n, j0, bl)
	}
	if c.grad != nil && threePass[T]() {
		return k.fastBlock3(c, p, n, j0, bl)
	}
	C, inner := k.C, c.l.inner
	L, base, span, pos0 := c.blockAt(n, j0)
	s := c.logits[base : base+span]
	ignore := int64(k.set.ignore)

	var mBuf, sumBuf, logBuf, scaleBuf [256]T
	m, sum, logSum, scale := mBuf[:L], sumBuf[:L], logBuf[:L], scaleBuf[:L]
	if maxSumExpCols(m, sum, s, C, inner) {
		return false // a NaN somewhere in the block: let the generic path look
	}
	logOf(logSum, sum)                 // ignored positions' sums may be anything: no matter
	counted, left := p.counted, p.left // kept only if no position bails out
	for j := range L {
		y := int64(k.targets[pos0+j])
		if y == ignore {
			left++
			m[j], scale[j], bl[j] = 0, 0, 0
			continue
		}
		mj := float64(m[j])
		if math.IsInf(mj, 0) {
			return false
		}
		w := k.set.weight(int(y))
		l := 0.0
		if w != 0 {
			sy := float64(s[int(y)*inner+j])
			if math.IsInf(sy, -1) {
				return false
			}
			l = w * ((mj - sy) + float64(logSum[j]))
		}
		gw := c.g * w
		if !isFinite(l) || !(math.Abs(gw) <= maxFloat[T]()) {
			return false
		}
		if c.losses != nil {
			c.losses[pos0+j] = l
		}
		bl[j] = l
		counted++
		scale[j] = T(gw / float64(sum[j]))
	}
	p.counted, p.left = counted, left
	if c.grad == nil {
		return true
	}
	d := c.grad[base : base+span]
	expScaleCols(d, s, C, inner, m, scale)
	for j := range L {
		y := int64(k.targets[pos0+j])
		if y == ignore {
			zeroColumn(d, C, inner, j)
			continue
		}
		i := int(y)*inner + j
		d[i] = T(float64(d[i]) - c.g*k.set.weight(int(y)))
	}
	return true
}

// fastBlock3 is fastBlock with a gradient, in three passes like fastRow3:
// the max of each position; the exponentials written into the gradient with
// their sums; a scale per position. Every check comes before the first
// write. It serves float64 and the blocks fusedBlock does not take; its
// per-position loops look weights up only when there are weights.
func (k *indexKind[T, I]) fastBlock3(c *softmaxCall[T], p *chunkResult, n, j0 int, bl *blockLoss) bool {
	C, inner := k.C, c.l.inner
	L, base, span, pos0 := c.blockAt(n, j0)
	s := c.logits[base : base+span]
	targets := k.targets[pos0 : pos0+L]
	ignore := int64(k.set.ignore)
	g, logC, top := c.g, k.logC, maxFloat[T]()

	var mBuf, sumBuf, logBuf, scaleBuf [256]T
	var gapBuf, wBuf [256]float64
	var atBuf [256]int // the target's offset in the block, or −1 if ignored
	m, sum, logSum, scale := mBuf[:L], sumBuf[:L], logBuf[:L], scaleBuf[:L]
	gap, wt, at := gapBuf[:L], wBuf[:L], atBuf[:L]
	if maxCols(m, s, C, inner) {
		return false // a NaN somewhere in the block: let the generic path look
	}
	for j, t := range targets {
		y := int64(t)
		if y == ignore {
			m[j] = 0 // the exponentials of this column are discarded
			at[j] = -1
			continue
		}
		mj := float64(m[j])
		if !(math.Abs(mj) <= top) {
			return false // +Inf, or a column of −Inf
		}
		w := 1.0
		if k.set.weights != nil {
			w = k.set.weight(int(y))
		}
		i := int(y)*inner + j
		d := 0.0
		if w != 0 {
			sy := float64(s[i])
			if sy < -top {
				return false
			}
			d = mj - sy
		}
		if !isFinite(w*(d+logC)) || !(math.Abs(g*w) <= top) {
			return false
		}
		gap[j], wt[j], at[j] = d, w, i
	}
	d := c.grad[base : base+span]
	expSumCols(d, s, C, inner, m, sum)
	logOf(logSum, sum)
	counted := p.counted
	for j, i := range at {
		if i < 0 {
			scale[j], bl[j] = 0, 0
			continue
		}
		l := 0.0
		if w := wt[j]; w != 0 {
			l = w * (gap[j] + float64(logSum[j]))
		}
		if c.losses != nil {
			c.losses[pos0+j] = l
		}
		bl[j] = l
		counted++
		scale[j] = T(g * wt[j] / float64(sum[j]))
	}
	p.left += L - (counted - p.counted)
	p.counted = counted
	scaleCols(d, C, inner, scale)
	for j, i := range at {
		if i < 0 {
			zeroColumn(d, C, inner, j) // also clears what exp wrote there
			continue
		}
		d[i] = T(float64(d[i]) - g*wt[j])
	}
	return true
}

// threePass reports whether rows with a gradient take three passes (max;
// exponentials written to the gradient with their sum; a scale) rather than
// two (online max and sum; scaled exponentials): one exponential per logit
// instead of two, for one more pass over a row that is in cache. Measured
// with xent bench on AVX-512, it is faster in both float types (by about
// 20% at 8192×32000 float32); the two-pass route stays for tests and for
// comparison.
func threePass[T Float]() bool {
	if is32[T]() {
		return threePassFloat32
	}
	return threePassFloat64
}

// threePassFloat64 and threePassFloat32 may be turned off by tests.
var threePassFloat64, threePassFloat32 = true, true

// fastRows runs the rows lo … hi−1. With a gradient in three passes,
// the rows are pipelined: one kernel call writes a row's exponentials,
// takes the max of the next row, which streams in from memory meanwhile,
// and scales the row before, still in cache (AVX-512, one thread, 16 MB
// of float32 rows in cache: a third less time at C = 1000, and a quarter
// to a third at C = 32000, than the same passes a row at a time, by
// `go test -bench Rows3Pass32 ./internal/kernel`). Each row's checks still
// come before its first write, as the max is known a row early. For the
// loss alone each row takes one online pass. Either way the logs of the
// rows' sums are taken a batch at a time by the vector kernel (see
// rowLosses). A row the fast loops cannot take goes to the generic path
// whole, after the losses before it.
func (k *indexKind[T, I]) fastRows(c *softmaxCall[T], p *chunkResult, lo, hi int) {
	pipelined := c.grad != nil && threePass[T]()
	if !pipelineRows || c.grad != nil && !pipelined {
		for u := lo; u < hi && p.err == nil; u++ {
			c.row(p, u)
		}
		return
	}
	C, ignore := k.C, int64(k.set.ignore)
	var batch rowLosses
	var pend pendingRow[T]
	var m float64
	var nan, known bool // row u's max, if found with row u−1
	for u := lo; u < hi && p.err == nil; u++ {
		y := int64(k.targets[u])
		if y == ignore {
			p.left++
			if c.grad != nil {
				zero(c.grad[u*C : u*C+C])
			}
			known = false
			continue
		}
		var ok bool
		if pipelined {
			if !known {
				m, nan = maxOf(c.logits[u*C : u*C+C])
			}
			var next []T
			if u+1 < hi && int64(k.targets[u+1]) != ignore {
				next = c.logits[(u+1)*C : (u+2)*C]
			}
			var mNext float64
			var nanNext bool
			ok, mNext, nanNext = k.fastRow3(c, &batch, &pend, u, int(y), m, nan, next)
			m, nan, known = mNext, nanNext, ok && next != nil
		} else {
			ok = k.fastLoss(c, &batch, u, int(y))
		}
		if !ok {
			pend.finish(false)
			batch.flush(c.losses, p)
			c.row(p, u)
		} else if batch.n == len(batch.sum) {
			batch.flush(c.losses, p)
		}
	}
	pend.finish(false)
	batch.flush(c.losses, p)
}

// pendingRow is a row whose gradient holds its exponentials and waits for
// its scale, which the next row's kernel call applies while the row is
// still in cache (kernel.ScaleExpSumMax32), and then for the correction of
// its target element.
type pendingRow[T Float] struct {
	d     []T // nil if there is none
	a, gw float64
	y     int
}

// finish scales the row, unless scaled says the kernel did, corrects its
// target element, and leaves none pending.
func (r *pendingRow[T]) finish(scaled bool) {
	if r.d == nil {
		return
	}
	if !scaled {
		scale(r.d, r.a)
	}
	r.d[r.y] = T(float64(r.d[r.y]) - r.gw)
	r.d = nil
}

// fastLoss is the loss of row pos alone, in one online pass, checked as
// fastRow3 checks it and added to batch.
func (k *indexKind[T, I]) fastLoss(c *softmaxCall[T], batch *rowLosses, pos, y int) bool {
	C := k.C
	s := c.logits[pos*C : pos*C+C]
	m, sum, nan := maxSumExp(s)
	if nan || math.IsInf(m, 0) {
		return false
	}
	w := k.set.weight(y)
	gap := 0.0
	if w != 0 {
		sy := float64(s[y])
		if math.IsInf(sy, -1) {
			return false
		}
		gap = m - sy
	}
	if !isFinite(w*(gap+k.logC)) || !(math.Abs(c.g*w) <= maxFloat[T]()) {
		return false
	}
	batch.add(pos, w, gap, sum)
	return true
}

// rowLosses holds the rows of a chunk whose losses w·(gap + log sum) wait
// for their logs, which flush takes together with kernel.Log64 (a scalar
// math.Log, about 30 ns of latency, was a tenth of a row's time at
// C = 1000) and adds to the chunk in row order.
type rowLosses struct {
	n           int
	pos         [64]int
	w, gap, sum [64]float64
}

func (b *rowLosses) add(pos int, w, gap, sum float64) {
	b.pos[b.n], b.w[b.n], b.gap[b.n], b.sum[b.n] = pos, w, gap, sum
	b.n++
}

// flush adds the batch's losses to p in row order, and to losses when not
// nil, and empties the batch.
func (b *rowLosses) flush(losses []float64, p *chunkResult) {
	if b.n == 0 {
		return
	}
	logs := b.sum[:b.n]
	kernel.Log64(logs, logs)
	for i, logSum := range logs {
		loss := 0.0
		if w := b.w[i]; w != 0 {
			loss = w * (b.gap[i] + logSum)
		}
		if losses != nil {
			losses[b.pos[i]] = loss
		}
		p.loss += loss
	}
	p.counted += b.n
	b.n = 0
}

// pipelineRows may be turned off by tests, to compare with one row at a
// time.
var pipelineRows = true

// fastRow3 is fastRow for a row with a gradient, in three passes, given
// the row's max and NaN flag. Every check comes before the first write, so
// a bail-out leaves the row whole for the generic path (the gradient may
// be the logits themselves). With next, the row after it, it also returns
// that row's max and NaN flag (see fastRows). The row's loss goes to
// batch, and its scale and target correction are left in pend, for the
// next call's kernel (or pend.finish) to apply; a row already pending is
// finished here.
func (k *indexKind[T, I]) fastRow3(c *softmaxCall[T], batch *rowLosses, pend *pendingRow[T], pos, y int, m float64, nan bool, next []T) (ok bool, mNext float64, nanNext bool) {
	C := k.C
	s := c.logits[pos*C : pos*C+C]
	if nan || math.IsInf(m, 0) {
		return false, 0, false
	}
	w := k.set.weight(y)
	gap := 0.0
	if w != 0 {
		sy := float64(s[y])
		if math.IsInf(sy, -1) {
			return false, 0, false
		}
		gap = m - sy
	}
	// The loss is at most w·(gap + log C): check it before writing.
	gw := c.g * w
	if !isFinite(w*(gap+k.logC)) || !(math.Abs(gw) <= maxFloat[T]()) {
		return false, 0, false
	}
	d := c.grad[pos*C : pos*C+C]
	var sum float64
	switch {
	case next != nil && pend.d != nil:
		sum, mNext, nanNext = scaleExpSumMax(pend.d, pend.a, d, s, m, next)
		pend.finish(true)
	case next != nil:
		sum, mNext, nanNext = expSumMax(d, s, m, next)
	default:
		pend.finish(false)
		sum = expSum(d, s, m)
	}
	batch.add(pos, w, gap, sum)
	*pend = pendingRow[T]{d: d, a: gw / sum, gw: gw, y: y}
	return true, mNext, nanNext
}

// maxFusedC is the most classes fusedBlock takes: its scratch, C vectors of
// positions, stays in L1.
const maxFusedC = kernel.ColsMaxC

// fusedCols may be turned off by tests, to compare with the three passes.
var fusedCols = true

// fusedBlock is fastBlock for float32 where the fused kernels run as
// assembly: one kernel call reads each logit once and writes each gradient
// element once (or, for the loss alone, writes nothing), which matters
// most when the rows of a block are a multiple
// of 4 KiB apart (an image), since then a position's logits share their
// cache sets and the three-pass kernels find them evicted on every pass.
// The kernel stops, before writing it, at a position with a NaN, an
// infinite max or a −Inf target logit, and the generic path takes the rest
// of the block from there.
func (k *indexKind[T, I]) fusedBlock(c *softmaxCall[T], p *chunkResult, n, j0 int, bl *blockLoss) bool {
	C, inner := k.C, c.l.inner
	L, base, span, pos0 := c.blockAt(n, j0)
	s := c.logits[base : base+span]
	targets := k.targets[pos0 : pos0+L]
	ignore := int64(k.set.ignore)
	g, top := c.g, maxFloat[T]()
	// Every loss w·(m − s_y + log Σ) of the block is at most
	// w·(2·top + log C), for float32 logits a finite float64 unless the
	// weight is absurd; then the generic path checks each.
	bound := 2*top + k.logC

	b := getState[kernel.ColsBlock32]() // 40 KiB: pooled rather than zeroed per block
	defer putState(b)
	if k.set.weights == nil {
		if !isFinite(bound) || !(math.Abs(g) <= top) {
			return false
		}
		// The kernel makes Y and GW from the targets and writes the
		// losses itself; narrower targets are widened first.
		t64, ok := asInt64(targets)
		if !ok {
			var wide [kernel.ColsMaxL]int64
			for j, t := range targets {
				wide[j] = int64(t)
			}
			t64 = wide[:L]
		}
		var d []float32
		if c.grad != nil {
			d = as32(c.grad[base : base+span])
		}
		done, counted := kernel.SoftmaxColsIndex32(d, as32(s), C, inner, L, t64, ignore, g, bl[:], b)
		if c.losses != nil {
			copy(c.losses[pos0:pos0+done], bl[:done]) // 0 where ignored, as they were
		}
		p.left += done - counted
		p.counted += counted
		if done < L {
			c.spatialSpan(p, n, j0+done, L-done, bl)
		}
		return true
	}

	var wBuf [kernel.ColsMaxL]float64
	for j, t := range targets {
		y := int64(t)
		if y == ignore {
			b.Y[j], b.GW[j], wBuf[j] = -1, 0, 0
			continue
		}
		w := k.set.weight(int(y))
		if w == 0 {
			y = -1 // no target term, and no check of its logit
		}
		if !isFinite(w*bound) || !(math.Abs(g*w) <= top) {
			return false
		}
		b.Y[j], b.GW[j], wBuf[j] = int32(y), g*w, w
	}
	var done int
	if c.grad != nil {
		done = kernel.SoftmaxCols32(as32(c.grad[base:base+span]), as32(s), C, inner, L, b)
	} else {
		done = kernel.SoftmaxColsFwd32(as32(s), C, inner, L, b)
	}
	logSum := b.Sum[:done] // the logs in place of the sums
	kernel.Log32(logSum, logSum)
	counted := p.counted
	for j, lg := range logSum {
		l := 0.0
		switch {
		case int64(targets[j]) == ignore:
			bl[j] = 0
			continue
		case wBuf[j] != 0:
			l = wBuf[j] * ((float64(b.M[j]) - float64(b.SY[j])) + float64(lg))
		}
		if c.losses != nil {
			c.losses[pos0+j] = l
		}
		bl[j] = l
		counted++
	}
	p.left += done - (counted - p.counted)
	p.counted = counted
	if done < L {
		c.spatialSpan(p, n, j0+done, L-done, bl)
	}
	return true
}
