#!/usr/bin/python3
"""Writes the golden vectors in this directory (index.json, dense.json,
multilabel.json, bce.json, masked.json, focal.json) for golden_test.go.

Run from anywhere with Debian's python3-torch:

    /usr/bin/python3 testdata/golden/gen.py

The output is deterministic (fixed seeds, one per case). Each case is
computed by PyTorch ("source": "torch") where PyTorch implements the rule of
SPEC section 2, and otherwise by the float64 NumPy reference below
("source": "numpy-ref"): means whose denominator is 0, multi-label rows with
no label, masked (-Inf) classes and ignored rows holding NaN or -Inf. Every
torch case in float64 is also checked against the NumPy reference, so the two
stay independent witnesses of the same formulas.

Float32 cases use float32-representable inputs; torch computes them in
float32, the reference computes in float64 from the float32 inputs and rounds
the outputs to float32.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = ("float64", "float32")


# ---------------------------------------------------------------- encoding

def enc(x):
    """A float as JSON: repr (shortest round-trip) or a string for non-finite."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def enc_list(a):
    return [enc(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def write(fname, cases):
    lines = [json.dumps(c, allow_nan=False, separators=(",", ":")) for c in cases]
    text = '{"cases": [\n' + ",\n".join(lines) + "\n]}\n"
    with open(os.path.join(HERE, fname), "w") as f:
        f.write(text)
    print("%-16s %3d cases %8d bytes" % (fname, len(cases), len(text)))


# ---------------------------------------------------------------- inputs

def rnd_logits(rng, shape, scale):
    """Logits of the given shape. scale is a number (N(0, scale)) or "mixed":
    N(0,1), N(0,10) and rows around +50 or -50 (with large spread)."""
    if scale != "mixed":
        return rng.normal(0.0, scale, size=shape)
    x = rng.normal(0.0, 1.0, size=shape)
    n = shape[0]
    for i in range(n):
        k = i % 4
        if k == 1:
            x[i] *= 10.0
        elif k == 2:
            x[i] = 50.0 + 5.0 * x[i]
        elif k == 3:
            x[i] = -50.0 + 30.0 * x[i]
    return x


def positions(x):
    """(N, C, d..) -> (P, C), positions in C order of (N, d..)."""
    x = np.asarray(x)
    n, c = x.shape[0], x.shape[1]
    return np.moveaxis(x.reshape(n, c, -1), 1, 2).reshape(-1, c)


def unpositions(y, shape):
    """(P, C) -> (N, C, d..)."""
    n, c = shape[0], shape[1]
    rest = shape[2:]
    s = int(np.prod(rest)) if rest else 1
    return np.moveaxis(y.reshape(n, s, c), 2, 1).reshape(shape)


def cast(a, dtype):
    """Round to the dtype and back to float64 (exactly representable)."""
    return np.asarray(a, dtype=np.float64).astype(dtype).astype(np.float64)


# ---------------------------------------------------------------- reference

def ref_log_softmax(s):
    """log p over the finite entries of one row; -inf on masked classes."""
    fin = np.isfinite(s)
    m = s[fin].max()
    lse = m + math.log(np.exp(s[fin] - m).sum())
    out = np.full_like(s, -np.inf)
    out[fin] = s[fin] - lse
    return out, fin


def ref_reduce(kind, losses, grads, counts, den, reduction, upstream):
    """losses (L,), grads (L, ...) per loss term; den = mean denominator."""
    if reduction == "none":
        g = np.asarray(upstream, dtype=np.float64).reshape(-1, *([1] * (grads.ndim - 1)))
        return losses, grads * g
    total = float(losses.sum())
    if reduction == "sum":
        return np.array([total]), grads
    if den == 0:
        return np.array([0.0]), np.zeros_like(grads)
    return np.array([total / den]), grads / den


def ref_index(s2, y, w, eps, ignore):
    P, C = s2.shape
    losses = np.zeros(P)
    grads = np.zeros((P, C))
    den = 0.0
    for i in range(P):
        if y[i] == ignore:
            continue
        lp, fin = ref_log_softmax(s2[i])
        p = np.exp(lp)
        cp = fin.sum()
        wf = np.where(fin, w, 0.0)
        wy = w[y[i]]
        a = (1.0 - eps) * wy
        l = 0.0
        if a != 0:
            assert fin[y[i]], "positive coefficient on a masked class"
            l += a * -lp[y[i]]
        g = a * p
        g[y[i]] -= a
        if eps != 0:
            b = eps / cp
            l += b * sum(wf[c] * -lp[c] for c in range(C) if fin[c] and wf[c] != 0)
            g += b * (wf.sum() * p - wf)
        losses[i] = l
        grads[i] = g
        den += wy
    return losses, grads, den


def ref_dense(s2, t2, w, eps):
    P, C = s2.shape
    losses = np.zeros(P)
    grads = np.zeros((P, C))
    for i in range(P):
        lp, fin = ref_log_softmax(s2[i])
        p = np.exp(lp)
        tp = (1.0 - eps) * t2[i]
        if eps != 0:
            tp = tp + np.where(fin, eps / fin.sum(), 0.0)
        coef = w * tp
        assert not np.any((coef > 0) & ~fin), "positive coefficient on a masked class"
        losses[i] = sum(coef[c] * -lp[c] for c in range(C) if coef[c] != 0)
        grads[i] = coef.sum() * p - coef
    return losses, grads, float(P)


def ref_multilabel(s2, t2, w):
    P, C = s2.shape
    losses = np.zeros(P)
    grads = np.zeros((P, C))
    den = 0
    for i in range(P):
        m = int(np.count_nonzero(t2[i]))
        if m == 0:
            continue
        lp, fin = ref_log_softmax(s2[i])
        p = np.exp(lp)
        coef = w * t2[i]
        assert not np.any((coef > 0) & ~fin), "positive coefficient on a masked class"
        losses[i] = sum(coef[c] * -lp[c] for c in range(C) if coef[c] != 0) / m
        grads[i] = (coef.sum() * p - coef) / m
        den += 1
    return losses, grads, float(den)


def ref_bce(x, t, w):
    """Elementwise over (N, C, d..) in C order; w broadcast on axis 1."""
    shape = x.shape
    wb = np.broadcast_to(w.reshape((1, -1) + (1,) * (len(shape) - 2)), shape)
    x, t, wb = x.ravel(), t.ravel(), wb.ravel()
    losses = np.zeros(x.size)
    grads = np.zeros(x.size)
    for i in range(x.size):
        s, tt, ww = x[i], t[i], wb[i]
        if s == -np.inf:
            assert ww * tt == 0, "positive target on a masked element"
            continue
        losses[i] = ww * (max(s, 0.0) - s * tt + math.log1p(math.exp(-abs(s))))
        sig = 1.0 / (1.0 + math.exp(-s)) if s >= 0 else math.exp(s) / (1.0 + math.exp(s))
        grads[i] = ww * (sig - tt)
    return losses, grads, float(x.size)


def ref_focal(x, t, w, gamma, alpha):
    """The sigmoid focal loss (torchvision's definition, soft targets) and its
    analytic derivative, elementwise; alpha None means no alpha factor."""
    shape = x.shape
    wb = np.broadcast_to(w.reshape((1, -1) + (1,) * (len(shape) - 2)), shape)
    x, t, wb = x.ravel(), t.ravel(), wb.ravel()
    losses = np.zeros(x.size)
    grads = np.zeros(x.size)
    for i in range(x.size):
        s, tt, ww = x[i], t[i], wb[i]
        a = ww if alpha is None else ww * (alpha * tt + (1.0 - alpha) * (1.0 - tt))
        if s == -np.inf:
            assert a * tt == 0, "positive target on a masked element"
            continue
        if a == 0:
            continue
        e = math.exp(-abs(s))
        sig, sbar = 1.0 / (1.0 + e), e / (1.0 + e)
        if s < 0:
            sig, sbar = sbar, sig
        ce = max(s, 0.0) - s * tt + math.log1p(e)
        q = tt * sbar + (1.0 - tt) * sig
        mod = q ** gamma
        d = sig - tt
        if gamma != 0 and q > 0:
            d += gamma * ce * (1.0 - 2.0 * tt) * sig * sbar / q
        losses[i] = a * mod * ce
        grads[i] = a * mod * d
    return losses, grads, float(x.size)


def reference(case_in):
    """The expected (loss, grad) from the float64 reference, grad in the
    logits' layout."""
    kind = case_in["kind"]
    shape = case_in["shape"]
    x = case_in["x"].reshape(shape)
    C = shape[1]
    w = case_in["w"] if case_in["w"] is not None else np.ones(C)
    eps = case_in["eps"]
    red = case_in["reduction"]
    up = case_in["upstream"]
    if kind == "bce":
        losses, grads, den = ref_bce(x, case_in["t"].reshape(shape), w)
        loss, g = ref_reduce(kind, losses, grads, None, den, red, up)
        return loss, g
    if kind == "focal":
        losses, grads, den = ref_focal(x, case_in["t"].reshape(shape), w, *case_in["focal"])
        loss, g = ref_reduce(kind, losses, grads, None, den, red, up)
        return loss, g
    s2 = positions(x)
    if kind == "index":
        losses, grads, den = ref_index(s2, case_in["t"].astype(np.int64), w, eps, case_in["ignore"])
    elif kind == "dense":
        losses, grads, den = ref_dense(s2, positions(case_in["t"].reshape(shape)), w, eps)
    else:
        losses, grads, den = ref_multilabel(s2, positions(case_in["t"].reshape(shape)), w)
    loss, g = ref_reduce(kind, losses, grads, None, den, red, up)
    return loss, unpositions(g, shape)


# ---------------------------------------------------------------- torch

def torch_compute(ci, dtype):
    kind = ci["kind"]
    shape = ci["shape"]
    tdt = torch.float64 if dtype == "float64" else torch.float32
    x = torch.tensor(ci["x"].reshape(shape), dtype=tdt, requires_grad=True)
    red = ci["reduction"]
    C = shape[1]
    w = None if ci["w"] is None else torch.tensor(ci["w"], dtype=tdt)
    if kind == "index":
        t = torch.tensor(ci["t"].astype(np.int64).reshape([shape[0]] + shape[2:]))
        loss = F.cross_entropy(x, t, weight=w, ignore_index=ci["ignore"],
                               reduction=red, label_smoothing=ci["eps"])
    elif kind in ("dense", "multilabel"):
        t = ci["t"].reshape(shape)
        if kind == "multilabel":
            # SPEC 2.3 identity: dense targets t/M (every row here has M > 0).
            m = np.count_nonzero(t, axis=1, keepdims=True).astype(np.float64)
            assert np.all(m > 0)
            t = t / m
        t = torch.tensor(t, dtype=tdt)
        loss = F.cross_entropy(x, t, weight=w, reduction=red, label_smoothing=ci["eps"])
    elif kind == "focal":
        t = torch.tensor(ci["t"].reshape(shape), dtype=tdt)
        if w is not None:
            w = w.reshape((C,) + (1,) * (len(shape) - 2))
        loss = torch_focal(x, t, w, red, *ci["focal"])
    else:
        t = torch.tensor(ci["t"].reshape(shape), dtype=tdt)
        if w is not None:
            w = w.reshape((C,) + (1,) * (len(shape) - 2))
        loss = F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=red)
    if red == "none":
        up = torch.tensor(ci["upstream"], dtype=tdt).reshape(loss.shape)
        (loss * up).sum().backward()
    else:
        loss.backward()
    out_loss = loss.detach().double().numpy().ravel()
    out_grad = x.grad.detach().double().numpy().ravel()
    return out_loss, out_grad


def torch_focal(x, t, w, red, gamma, alpha):
    """torchvision's sigmoid_focal_loss in torch ops, with 1 - p_t computed as
    t*sigmoid(-x) + (1-t)*sigmoid(x) (no cancellation) and q**gamma guarded
    where q = 0 (whose autograd would give 0 * inf)."""
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    q = t * torch.sigmoid(-x) + (1 - t) * torch.sigmoid(x)
    if gamma == 0:
        mod = torch.ones_like(q)
    else:
        pos = q > 0
        mod = torch.where(pos, torch.where(pos, q, torch.ones_like(q)) ** gamma, torch.zeros_like(q))
    loss = ce * mod
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    if w is not None:
        loss = w * loss
    if red == "mean":
        return loss.mean()
    if red == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------- cases

class Builder:
    def __init__(self, kind_file):
        self.file = kind_file
        self.cases = []
        self.seed = 1000 * (hash_name(kind_file) % 1000)

    def add(self, name, kind, shape, make, weights=None, ignore=-100, eps=0.0,
            reduction="mean", source="torch", focal=None):
        """make(rng) -> (logits, targets) in float64, logits in the shape,
        targets per position (index) or in the shape."""
        self.seed += 1
        for dtype in DTYPES:
            rng = np.random.default_rng(self.seed)
            x, t = make(rng)
            x = cast(np.asarray(x, dtype=np.float64).reshape(shape), dtype)
            if kind == "index":
                t = np.asarray(t, dtype=np.int64).ravel()
            else:
                t = cast(np.asarray(t, dtype=np.float64).reshape(shape), dtype)
            w = None if weights is None else cast(weights, dtype)
            n_loss = x.size if kind in ("bce", "focal") else x.size // shape[1]
            up = None
            if reduction == "none":
                up = cast(rng.normal(0.0, 1.0, size=n_loss), dtype)
                up[::5] = 1.0
            ci = dict(kind=kind, shape=list(shape), x=x, t=t.astype(np.float64), w=w,
                      ignore=ignore, eps=eps, reduction=reduction, upstream=up, focal=focal)
            ref_loss, ref_grad = reference(ci)
            ref_grad = np.asarray(ref_grad).ravel()
            if source == "torch":
                loss, grad = torch_compute(ci, dtype)
                if dtype == "float64":
                    check(name, loss, ref_loss, 1e-11, 1e-13)
                    check(name + " grad", grad, ref_grad, 1e-11, 1e-13)
                else:
                    check(name, loss, ref_loss, 1e-4, 1e-5)
                    check(name + " grad", grad, ref_grad, 1e-3, 1e-5)
            else:
                loss, grad = ref_loss, ref_grad
                if dtype == "float32":
                    loss, grad = cast(loss, dtype), cast(grad, dtype)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad)), name
            extra = {}
            if kind == "focal":
                extra = {"focal_gamma": float(focal[0]),
                         "focal_alpha": None if focal[1] is None else float(focal[1])}
            self.cases.append({
                "name": "%s/%s" % (name, dtype),
                "kind": kind,
                "dtype": dtype,
                "shape": list(shape),
                "logits": enc_list(x),
                "targets": [int(v) for v in t] if kind == "index" else enc_list(t),
                "weights": None if w is None else enc_list(w),
                "ignore_index": int(ignore),
                "label_smoothing": float(eps),
                "reduction": reduction,
                "upstream": None if up is None else enc_list(up),
                "loss": enc_list(loss),
                "grad": enc_list(grad),
                "source": source,
                **extra,
            })


def hash_name(s):
    h = 0
    for ch in s:
        h = (h * 31 + ord(ch)) % 1000003
    return h


def check(name, got, want, rtol, atol):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or not np.all(np.abs(got - want) <= atol + rtol * np.abs(want)):
        d = np.max(np.abs(got - want)) if got.shape == want.shape else None
        sys.exit("torch and reference disagree on %s: max diff %s\ntorch %s\nref   %s"
                 % (name, d, got[:8], want[:8]))


def pos_shape(shape):
    return [shape[0]] + list(shape[2:])


def npos(shape):
    return int(np.prod(pos_shape(shape)))


# index targets ----------------------------------------------------------

def idx_targets(rng, shape, ignore=None, frac=0.0):
    y = rng.integers(0, shape[1], size=npos(shape))
    if ignore is not None and frac > 0:
        m = rng.random(y.size) < frac
        m[0] = True
        y[m] = ignore
    return y


def mk_index(shape, scale=1.0, ignore=None, frac=0.0):
    def make(rng):
        return rnd_logits(rng, shape, scale), idx_targets(rng, shape, ignore, frac)
    return make


def class_weights(C, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 3.0, size=C)
    if C > 2:
        w[1] = 0.0  # a class with weight 0
    return w


def gen_index():
    b = Builder("index")
    for C in (1, 2, 5, 37):
        for red in ("mean", "sum", "none"):
            b.add("c%d_%s" % (C, red), "index", [12, C], mk_index([12, C], "mixed"), reduction=red)
    b.add("c5_scale10_mean", "index", [16, 5], mk_index([16, 5], 10.0))
    b.add("c37_scale10_sum", "index", [8, 37], mk_index([8, 37], 10.0), reduction="sum")
    w5, w37 = class_weights(5, 1), class_weights(37, 2)
    for red in ("mean", "sum", "none"):
        b.add("c5_weights_%s" % red, "index", [16, 5], mk_index([16, 5], "mixed"), weights=w5, reduction=red)
    b.add("c37_weights_mean", "index", [12, 37], mk_index([12, 37], "mixed"), weights=w37)
    # ignore index
    for red in ("mean", "sum", "none"):
        b.add("c5_ignore_default_%s" % red, "index", [16, 5], mk_index([16, 5], "mixed", -100, 0.3), reduction=red)
        b.add("c5_ignore_2_%s" % red, "index", [16, 5], mk_index([16, 5], "mixed"), ignore=2, reduction=red)
    b.add("c5_ignore_minus1_weights_mean", "index", [16, 5], mk_index([16, 5], 1.0, -1, 0.3), weights=w5, ignore=-1)
    b.add("c5_ignore_7_beyond_c_mean", "index", [16, 5], mk_index([16, 5], 1.0, 7, 0.25), ignore=7)
    b.add("c5_ignore_2_weights_smooth_mean", "index", [16, 5], mk_index([16, 5], "mixed"), weights=w5, ignore=2, eps=0.1)
    b.add("c5_ignore_default_smooth_mean", "index", [16, 5], mk_index([16, 5], "mixed", -100, 0.3), eps=0.3)

    def all_ignored(rng):
        return rnd_logits(rng, [6, 5], 1.0), np.full(6, -100)
    b.add("c5_all_ignored_mean", "index", [6, 5], all_ignored, source="numpy-ref")
    b.add("c5_all_ignored_sum", "index", [6, 5], all_ignored, reduction="sum")
    b.add("c5_all_ignored_none", "index", [6, 5], all_ignored, reduction="none")

    def zero_weight_targets(rng):
        return rnd_logits(rng, [6, 5], 1.0), np.array([1, 1, -100, 1, 1, -100])
    b.add("c5_zero_weight_targets_mean", "index", [6, 5], zero_weight_targets, weights=w5, source="numpy-ref")
    b.add("c5_zero_weight_targets_smooth_mean", "index", [6, 5], zero_weight_targets, weights=w5, eps=0.1, source="numpy-ref")
    # label smoothing
    for eps in (0.1, 0.3):
        for red in ("mean", "sum", "none"):
            b.add("c5_smooth%g_%s" % (eps, red), "index", [16, 5], mk_index([16, 5], "mixed"), eps=eps, reduction=red)
            b.add("c5_smooth%g_weights_%s" % (eps, red), "index", [16, 5], mk_index([16, 5], "mixed"), weights=w5, eps=eps, reduction=red)
        b.add("c37_smooth%g_weights_mean" % eps, "index", [8, 37], mk_index([8, 37], "mixed"), weights=w37, eps=eps)
    b.add("c5_smooth1_mean", "index", [8, 5], mk_index([8, 5], 1.0), eps=1.0)
    # spatial
    for red in ("mean", "sum", "none"):
        b.add("spatial_n3_c5_d4_%s" % red, "index", [3, 5, 4], mk_index([3, 5, 4], "mixed"), reduction=red)
        b.add("spatial_n2_c4_d3x5_weights_smooth_ignore_%s" % red, "index", [2, 4, 3, 5],
              mk_index([2, 4, 3, 5], "mixed", -100, 0.2), weights=class_weights(4, 3), eps=0.1, reduction=red)
    b.add("spatial_n2_c37_d2x3_mean", "index", [2, 37, 2, 3], mk_index([2, 37, 2, 3], 10.0))
    b.add("spatial_n3_c1_d4_mean", "index", [3, 1, 4], mk_index([3, 1, 4], 1.0))
    return b


# dense targets ----------------------------------------------------------

def dense_targets(rng, shape, mode):
    C = shape[1]
    if mode == "prob":
        z = rng.normal(0.0, 2.0, size=shape)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if mode == "onehot":
        y = rng.integers(0, C, size=npos(shape))
        oh = np.zeros((y.size, C))
        oh[np.arange(y.size), y] = 1.0
        return unpositions(oh, shape)
    # soft rows not summing to 1, with zeros
    t = rng.uniform(0.0, 2.0, size=shape)
    t[rng.random(shape) < 0.3] = 0.0
    return t


def mk_dense(shape, scale, mode):
    def make(rng):
        return rnd_logits(rng, shape, scale), dense_targets(rng, shape, mode)
    return make


def gen_dense():
    b = Builder("dense")
    for C in (1, 2, 5, 37):
        for red in ("mean", "sum", "none"):
            b.add("c%d_prob_%s" % (C, red), "dense", [12, C], mk_dense([12, C], "mixed", "prob"), reduction=red)
    for mode in ("onehot", "soft"):
        for red in ("mean", "sum", "none"):
            b.add("c5_%s_%s" % (mode, red), "dense", [16, 5], mk_dense([16, 5], "mixed", mode), reduction=red)
    b.add("c37_soft_scale10_mean", "dense", [8, 37], mk_dense([8, 37], 10.0, "soft"))
    w5, w37 = class_weights(5, 11), class_weights(37, 12)
    for red in ("mean", "sum", "none"):
        b.add("c5_prob_weights_%s" % red, "dense", [16, 5], mk_dense([16, 5], "mixed", "prob"), weights=w5, reduction=red)
        b.add("c5_soft_weights_%s" % red, "dense", [16, 5], mk_dense([16, 5], "mixed", "soft"), weights=w5, reduction=red)
    b.add("c37_onehot_weights_mean", "dense", [8, 37], mk_dense([8, 37], "mixed", "onehot"), weights=w37)
    for eps in (0.1, 0.3):
        for red in ("mean", "sum", "none"):
            b.add("c5_prob_smooth%g_%s" % (eps, red), "dense", [16, 5], mk_dense([16, 5], "mixed", "prob"), eps=eps, reduction=red)
            b.add("c5_soft_smooth%g_weights_%s" % (eps, red), "dense", [16, 5], mk_dense([16, 5], "mixed", "soft"), weights=w5, eps=eps, reduction=red)
        b.add("c37_onehot_smooth%g_weights_mean" % eps, "dense", [8, 37], mk_dense([8, 37], "mixed", "onehot"), weights=w37, eps=eps)
    for red in ("mean", "sum", "none"):
        b.add("spatial_n3_c5_d4_prob_%s" % red, "dense", [3, 5, 4], mk_dense([3, 5, 4], "mixed", "prob"), reduction=red)
        b.add("spatial_n2_c4_d3x5_soft_weights_smooth_%s" % red, "dense", [2, 4, 3, 5],
              mk_dense([2, 4, 3, 5], "mixed", "soft"), weights=class_weights(4, 13), eps=0.1, reduction=red)
    b.add("spatial_n2_c37_d2x3_onehot_mean", "dense", [2, 37, 2, 3], mk_dense([2, 37, 2, 3], 10.0, "onehot"))
    return b


# multi-label ------------------------------------------------------------

def ml_targets(rng, shape, real=False, allow_empty=False):
    """Binary (or real-valued) labels; 1..min(C,4) labels per position."""
    C = shape[1]
    P = npos(shape)
    t = np.zeros((P, C))
    for i in range(P):
        k = int(rng.integers(1 if not allow_empty else 0, min(C, 4) + 1))
        if allow_empty and i % 3 == 0:
            k = 0
        cls = rng.choice(C, size=k, replace=False)
        t[i, cls] = rng.uniform(0.1, 2.0, size=k) if real else 1.0
    return unpositions(t, shape)


def mk_ml(shape, scale, real=False, allow_empty=False):
    def make(rng):
        return rnd_logits(rng, shape, scale), ml_targets(rng, shape, real, allow_empty)
    return make


def gen_multilabel():
    b = Builder("multilabel")
    w5, w37 = class_weights(5, 21), class_weights(37, 22)
    for C in (1, 2, 5, 37):
        for red in ("mean", "sum", "none"):
            b.add("c%d_binary_%s" % (C, red), "multilabel", [12, C], mk_ml([12, C], "mixed"), reduction=red)
    b.add("c37_binary_scale10_mean", "multilabel", [8, 37], mk_ml([8, 37], 10.0))
    for red in ("mean", "sum", "none"):
        b.add("c5_binary_weights_%s" % red, "multilabel", [16, 5], mk_ml([16, 5], "mixed"), weights=w5, reduction=red)
        b.add("c5_real_%s" % red, "multilabel", [16, 5], mk_ml([16, 5], "mixed", real=True), reduction=red)
        b.add("c5_real_weights_%s" % red, "multilabel", [16, 5], mk_ml([16, 5], "mixed", real=True), weights=w5, reduction=red)
        b.add("c5_empty_rows_%s" % red, "multilabel", [18, 5], mk_ml([18, 5], "mixed", allow_empty=True),
              reduction=red, source="numpy-ref")
        b.add("c5_real_weights_empty_rows_%s" % red, "multilabel", [18, 5], mk_ml([18, 5], "mixed", real=True, allow_empty=True),
              weights=w5, reduction=red, source="numpy-ref")
        b.add("spatial_n3_c5_d4_binary_%s" % red, "multilabel", [3, 5, 4], mk_ml([3, 5, 4], "mixed"), reduction=red)
    b.add("c37_real_weights_mean", "multilabel", [8, 37], mk_ml([8, 37], "mixed", real=True), weights=w37)
    b.add("spatial_n2_c4_d3x5_real_weights_mean", "multilabel", [2, 4, 3, 5], mk_ml([2, 4, 3, 5], "mixed", real=True),
          weights=class_weights(4, 23))
    b.add("spatial_n2_c6_d2x3_empty_rows_mean", "multilabel", [2, 6, 2, 3], mk_ml([2, 6, 2, 3], "mixed", allow_empty=True),
          source="numpy-ref")

    def all_empty(rng):
        return rnd_logits(rng, [4, 5], 1.0), np.zeros((4, 5))
    b.add("c5_all_empty_mean", "multilabel", [4, 5], all_empty, source="numpy-ref")
    b.add("c5_all_empty_none", "multilabel", [4, 5], all_empty, reduction="none", source="numpy-ref")
    return b


# sigmoid ----------------------------------------------------------------

def bce_targets(rng, shape, mode):
    if mode == "binary":
        return (rng.random(shape) < 0.4).astype(np.float64)
    t = rng.uniform(0.0, 1.0, size=shape)
    if mode == "above1":
        m = rng.random(shape) < 0.1
        t[m] = rng.uniform(1.0, 1.5, size=int(m.sum()))
    return t


def mk_bce(shape, scale, mode):
    def make(rng):
        return rnd_logits(rng, shape, scale), bce_targets(rng, shape, mode)
    return make


def gen_bce():
    b = Builder("bce")
    w5, w37 = class_weights(5, 31), class_weights(37, 32)
    for C in (1, 2, 5, 37):
        for red in ("mean", "sum", "none"):
            b.add("c%d_binary_%s" % (C, red), "bce", [12, C], mk_bce([12, C], "mixed", "binary"), reduction=red)
    for red in ("mean", "sum", "none"):
        b.add("c5_soft_%s" % red, "bce", [16, 5], mk_bce([16, 5], "mixed", "soft"), reduction=red)
        b.add("c5_soft_weights_%s" % red, "bce", [16, 5], mk_bce([16, 5], "mixed", "soft"), weights=w5, reduction=red)
        b.add("c5_above1_%s" % red, "bce", [16, 5], mk_bce([16, 5], 1.0, "above1"), reduction=red)
        b.add("spatial_n3_c5_d4_weights_%s" % red, "bce", [3, 5, 4], mk_bce([3, 5, 4], "mixed", "soft"), weights=w5, reduction=red)
        b.add("spatial_n2_c4_d3x5_weights_%s" % red, "bce", [2, 4, 3, 5], mk_bce([2, 4, 3, 5], "mixed", "above1"),
              weights=class_weights(4, 33), reduction=red)
    b.add("c37_soft_weights_scale10_mean", "bce", [8, 37], mk_bce([8, 37], 10.0, "soft"), weights=w37)
    b.add("c37_binary_weights_sum", "bce", [8, 37], mk_bce([8, 37], "mixed", "binary"), weights=w37, reduction="sum")
    return b


# masked classes and skipped positions (NumPy reference) -----------------

NAN, NINF, PINF = float("nan"), float("-inf"), float("inf")


def mask_rows(rng, x, p, keep):
    """Set logits of (P, C) view to -inf with probability p, never on the
    classes in keep[i] (a list per position), and keep >= 1 finite class."""
    P, C = x.shape
    for i in range(P):
        for c in range(C):
            if c not in keep[i] and rng.random() < p:
                x[i, c] = NINF
        if not np.any(np.isfinite(x[i])):
            x[i, keep[i][0] if keep[i] else 0] = 0.5
    return x


def trash_row(x, i, k):
    """Fill row i of an ignored/skipped position with NaN, -inf or +inf."""
    if k % 3 == 0:
        x[i, :] = NAN
    elif k % 3 == 1:
        x[i, :] = NINF
    else:
        x[i, ::2] = PINF
        x[i, 1::2] = NAN


def mk_masked_index(shape, scale, ignore=-100, n_ignored=0, target_on_masked=False):
    def make(rng):
        C = shape[1]
        x = positions(rnd_logits(rng, shape, scale))
        y = rng.integers(0, C, size=x.shape[0])
        x = mask_rows(rng, x, 0.35, [[int(v)] for v in y])
        if target_on_masked:
            # the targets of these rows sit on class 1, masked; valid because
            # the coefficient (1-eps)*w_1 is zero (w_1 = 0 or eps = 1)
            for i in range(0, x.shape[0], 3):
                y[i] = 1
                x[i, 1] = NINF
                if not np.any(np.isfinite(x[i])):
                    x[i, 0] = 0.25
        for k in range(n_ignored):
            i = (2 * k + 1) % x.shape[0]
            y[i] = ignore
            trash_row(x, i, k)
        return unpositions(x, shape), y
    return make


def mk_masked_dense(shape, scale, mode, label_on_masked=False):
    def make(rng):
        C = shape[1]
        x = positions(rnd_logits(rng, shape, scale))
        t = positions(dense_targets(rng, shape, mode) if mode != "ml" else ml_targets(rng, shape))
        keep = [list(np.nonzero(t[i])[0]) for i in range(t.shape[0])]
        x = mask_rows(rng, x, 0.35, keep)
        if label_on_masked:
            # class 1 (weight 0) labelled but masked: a zero coefficient
            for i in range(0, x.shape[0], 3):
                t[i, 1] = 1.0
                x[i, 1] = NINF
                if not np.any(np.isfinite(x[i])):
                    x[i, 0] = 0.25
        return unpositions(x, shape), unpositions(t, shape)
    return make


def mk_masked_ml_empty(shape, scale, real):
    def make(rng):
        x = positions(rnd_logits(rng, shape, scale))
        t = positions(ml_targets(rng, shape, real, allow_empty=True))
        keep = [list(np.nonzero(t[i])[0]) for i in range(t.shape[0])]
        x = mask_rows(rng, x, 0.35, [k if k else [0] for k in keep])
        k = 0
        for i in range(t.shape[0]):
            if not keep[i]:
                trash_row(x, i, k)
                k += 1
        return unpositions(x, shape), unpositions(t, shape)
    return make


def mk_masked_bce(shape, scale, zero_weight_class=None):
    def make(rng):
        x = rnd_logits(rng, shape, scale)
        t = bce_targets(rng, shape, "soft")
        m = rng.random(shape) < 0.3
        x[m] = NINF
        t[m] = 0.0
        xp = positions(x)
        tp = positions(t)
        xp[1, :] = NINF  # a position whose logits are all -inf
        tp[1, :] = 0.0
        if zero_weight_class is not None:
            # weight 0 on this class: a positive target on -inf is valid
            xp[::2, zero_weight_class] = NINF
            tp[::2, zero_weight_class] = 0.7
        return unpositions(xp, shape), unpositions(tp, shape)
    return make


def gen_masked():
    b = Builder("masked")
    R = "numpy-ref"
    w5 = class_weights(5, 41)  # w5[1] == 0
    w37 = class_weights(37, 42)
    reds = ("mean", "sum", "none")
    # index
    for red in reds:
        b.add("index_c5_%s" % red, "index", [16, 5], mk_masked_index([16, 5], "mixed"), reduction=red, source=R)
        b.add("index_c5_weights_smooth0.1_%s" % red, "index", [16, 5], mk_masked_index([16, 5], "mixed"),
              weights=w5, eps=0.1, reduction=red, source=R)
        b.add("index_c5_ignored_trash_%s" % red, "index", [16, 5], mk_masked_index([16, 5], "mixed", -100, 4),
              reduction=red, source=R)
    b.add("index_c37_mean", "index", [12, 37], mk_masked_index([12, 37], 10.0), source=R)
    for eps in (0.1, 0.3):
        b.add("index_c5_smooth%g_mean" % eps, "index", [16, 5], mk_masked_index([16, 5], "mixed"), eps=eps, source=R)
        b.add("index_c37_smooth%g_weights_mean" % eps, "index", [12, 37], mk_masked_index([12, 37], "mixed"),
              weights=w37, eps=eps, source=R)
    b.add("index_c5_ignore2_trash_smooth0.3_weights_mean", "index", [16, 5], mk_masked_index([16, 5], "mixed", 2, 5),
          weights=w5, ignore=2, eps=0.3, source=R)
    b.add("index_c5_target_on_masked_zero_weight_mean", "index", [12, 5],
          mk_masked_index([12, 5], "mixed", target_on_masked=True), weights=w5, source=R)
    b.add("index_c5_target_on_masked_zero_weight_smooth0.1_none", "index", [12, 5],
          mk_masked_index([12, 5], "mixed", target_on_masked=True), weights=w5, eps=0.1, reduction="none", source=R)
    b.add("index_c5_target_on_masked_smooth1_mean", "index", [12, 5],
          mk_masked_index([12, 5], "mixed", target_on_masked=True), eps=1.0, source=R)

    def all_ignored_trash(rng):
        x = rnd_logits(rng, [6, 5], 1.0)
        for i in range(6):
            trash_row(x, i, i)
        return x, np.full(6, -100)
    b.add("index_c5_all_ignored_trash_mean", "index", [6, 5], all_ignored_trash, source=R)
    b.add("index_c5_all_ignored_trash_none", "index", [6, 5], all_ignored_trash, reduction="none", source=R)
    for red in reds:
        b.add("index_spatial_n2_c4_d3x5_weights_smooth0.1_trash_%s" % red, "index", [2, 4, 3, 5],
              mk_masked_index([2, 4, 3, 5], "mixed", -100, 6), weights=class_weights(4, 43), eps=0.1,
              reduction=red, source=R)
    # dense
    for red in reds:
        b.add("dense_c5_prob_%s" % red, "dense", [16, 5], mk_masked_dense([16, 5], "mixed", "onehot"), reduction=red, source=R)
        b.add("dense_c5_soft_weights_smooth0.1_%s" % red, "dense", [16, 5], mk_masked_dense([16, 5], "mixed", "soft"),
              weights=w5, eps=0.1, reduction=red, source=R)
    b.add("dense_c5_soft_smooth0.3_mean", "dense", [16, 5], mk_masked_dense([16, 5], "mixed", "soft"), eps=0.3, source=R)
    b.add("dense_c37_soft_weights_smooth0.3_mean", "dense", [12, 37], mk_masked_dense([12, 37], 10.0, "soft"),
          weights=w37, eps=0.3, source=R)
    b.add("dense_c5_label_on_masked_zero_weight_smooth0.1_mean", "dense", [12, 5],
          mk_masked_dense([12, 5], "mixed", "soft", label_on_masked=True), weights=w5, eps=0.1, source=R)
    b.add("dense_spatial_n2_c4_d3x5_soft_smooth0.1_none", "dense", [2, 4, 3, 5],
          mk_masked_dense([2, 4, 3, 5], "mixed", "soft"), eps=0.1, reduction="none", source=R)
    # multi-label
    for red in reds:
        b.add("multilabel_c5_binary_%s" % red, "multilabel", [16, 5], mk_masked_dense([16, 5], "mixed", "ml"),
              reduction=red, source=R)
        b.add("multilabel_c5_real_weights_empty_trash_%s" % red, "multilabel", [18, 5],
              mk_masked_ml_empty([18, 5], "mixed", True), weights=w5, reduction=red, source=R)
    b.add("multilabel_c5_label_on_masked_zero_weight_mean", "multilabel", [12, 5],
          mk_masked_dense([12, 5], "mixed", "ml", label_on_masked=True), weights=w5, source=R)
    b.add("multilabel_c37_binary_empty_trash_mean", "multilabel", [12, 37], mk_masked_ml_empty([12, 37], 10.0, False),
          source=R)
    b.add("multilabel_spatial_n2_c4_d3x5_empty_trash_sum", "multilabel", [2, 4, 3, 5],
          mk_masked_ml_empty([2, 4, 3, 5], "mixed", False), reduction="sum", source=R)
    # sigmoid
    for red in reds:
        b.add("bce_c5_%s" % red, "bce", [16, 5], mk_masked_bce([16, 5], "mixed"), reduction=red, source=R)
        b.add("bce_c5_weights_zero_weight_target_%s" % red, "bce", [16, 5], mk_masked_bce([16, 5], "mixed", 1),
              weights=w5, reduction=red, source=R)
    b.add("bce_spatial_n2_c4_d3x5_mean", "bce", [2, 4, 3, 5], mk_masked_bce([2, 4, 3, 5], "mixed"),
          weights=class_weights(4, 44), source=R)
    return b


# focal ------------------------------------------------------------------

def gen_focal():
    b = Builder("focal")
    w5, w37 = class_weights(5, 51), class_weights(37, 52)
    reds = ("mean", "sum", "none")
    for gamma in (0, 0.5, 2, 3):
        for alpha in (None, 0.25):
            fp = (gamma, alpha)
            tag = "g%g" % gamma + ("" if alpha is None else "_a%g" % alpha)
            for red in reds:
                b.add("%s_c5_binary_%s" % (tag, red), "focal", [16, 5], mk_bce([16, 5], "mixed", "binary"),
                      reduction=red, focal=fp)
                b.add("%s_c5_soft_weights_%s" % (tag, red), "focal", [16, 5], mk_bce([16, 5], "mixed", "soft"),
                      weights=w5, reduction=red, focal=fp)
                b.add("%s_spatial_n2_c4_d3x5_soft_weights_%s" % (tag, red), "focal", [2, 4, 3, 5],
                      mk_bce([2, 4, 3, 5], "mixed", "soft"), weights=class_weights(4, 53), reduction=red, focal=fp)
            b.add("%s_c1_binary_mean" % tag, "focal", [12, 1], mk_bce([12, 1], "mixed", "binary"), focal=fp)
            b.add("%s_c37_soft_weights_scale10_mean" % tag, "focal", [8, 37], mk_bce([8, 37], 10.0, "soft"),
                  weights=w37, focal=fp)
    for alpha in (0.0, 0.5, 1.0):
        b.add("g2_a%g_c5_soft_sum" % alpha, "focal", [16, 5], mk_bce([16, 5], "mixed", "soft"),
              reduction="sum", focal=(2, alpha))
    b.add("g1_c5_binary_scale30_mean", "focal", [16, 5], mk_bce([16, 5], 30.0, "binary"), focal=(1, None))
    b.add("g1.5_a0.75_spatial_n3_c5_d4_binary_none", "focal", [3, 5, 4], mk_bce([3, 5, 4], "mixed", "binary"),
          reduction="none", focal=(1.5, 0.75))
    # masked elements (-inf logits with target 0, or zero weight): NumPy reference
    wm = class_weights(5, 54)  # wm[1] == 0
    for red in reds:
        b.add("masked_g2_c5_%s" % red, "focal", [16, 5], mk_masked_bce([16, 5], "mixed"), reduction=red,
              focal=(2, None), source="numpy-ref")
        b.add("masked_g0.5_a0.25_c5_weights_zero_weight_target_%s" % red, "focal", [16, 5],
              mk_masked_bce([16, 5], "mixed", 1), weights=wm, reduction=red, focal=(0.5, 0.25), source="numpy-ref")
    return b


def main():
    torch.set_num_threads(1)
    print("torch", torch.__version__, "numpy", np.__version__)
    for fname, gen in (("index.json", gen_index), ("dense.json", gen_dense),
                       ("multilabel.json", gen_multilabel), ("bce.json", gen_bce),
                       ("masked.json", gen_masked), ("focal.json", gen_focal)):
        write(fname, gen().cases)


if __name__ == "__main__":
    main()
