// Training step of a small CNN at batch 64, eager and compiled, one JSON line per figure:
// 1×28×28 → conv 5×5×8 → relu → maxpool 2 → conv 5×5×16 → relu → maxpool 2 → dense 10,
// cross-entropy, plain SGD by assignInPlace. Run after a build:
// `pnpm --filter @neurite/tensor build && node packages/tensor/bench/cnn.mjs [--quick]`.
import {
  assignInPlace,
  compile,
  conv2d,
  indexSelect,
  maxPool2d,
  noGrad,
  oneHot,
  Rng,
  randn,
  tensor,
  zeros,
} from '../dist/index.js';
import { setDenseEnabled } from '../dist/kernels/dense.js';

const quick = process.argv.includes('--quick');
const batch = 64;

/** Median seconds per call of `fn` over 5 rounds, after a warm-up. */
function time(fn, minTime = quick ? 0.5 : 3) {
  for (let i = 0; i < 3; i++) fn();
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = (performance.now() - start) / 1000;
    } while (elapsed < minTime / 5);
    rounds.push(elapsed / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

function cnn(seed) {
  const rng = new Rng(seed);
  const he = (shape, fanIn) =>
    randn(shape, { rng })
      .mul(Math.sqrt(2 / fanIn))
      .requireGrad();
  const params = [
    he([8, 1, 5, 5], 25),
    zeros([8], { requiresGrad: true }),
    he([16, 8, 5, 5], 200),
    zeros([16], { requiresGrad: true }),
    he([10, 256], 256),
    zeros([10], { requiresGrad: true }),
  ];
  const [w1, b1, w2, b2, w3, b3] = params;
  return (x, y) => {
    for (const p of params) p.grad = null;
    let h = maxPool2d(conv2d(x, w1, b1).relu(), 2);
    h = maxPool2d(conv2d(h, w2, b2).relu(), 2);
    const logits = h.reshape([x.shape[0], 256]).matmul(w3, { transB: true }).add(b3);
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      for (const p of params) assignInPlace(p, p.sub(p.grad.mul(0.01)));
    });
    return loss;
  };
}

/**
 * The same network built as a user had to before conv2d existed: im2col as an
 * indexSelect gather, a batched matmul, and max pooling as the maximum of four
 * strided gathers. The baseline the primitives are measured against.
 */
function gatherCnn(seed) {
  const rng = new Rng(seed);
  const he = (shape, fanIn) =>
    randn(shape, { rng })
      .mul(Math.sqrt(2 / fanIn))
      .requireGrad();
  const params = [
    he([8, 25], 25),
    zeros([8, 1], { requiresGrad: true }),
    he([16, 200], 200),
    zeros([16, 1], { requiresGrad: true }),
    he([10, 256], 256),
    zeros([10], { requiresGrad: true }),
  ];
  const [w1, b1, w2, b2, w3, b3] = params;
  // Indices of im2col over a [C, H, W] image flattened, for a k×k valid convolution.
  const unfold = (c, h, w, k) => {
    const oh = h - k + 1;
    const ow = w - k + 1;
    const idx = [];
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++)
          for (let y = 0; y < oh; y++)
            for (let t = 0; t < ow; t++) idx.push((ci * h + y + i) * w + t + j);
    return tensor(Int32Array.from(idx), { shape: [idx.length] });
  };
  const pool = (h, w) => {
    const picks = [];
    for (const [di, dj] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      const idx = [];
      for (let y = 0; y < h / 2; y++)
        for (let t = 0; t < w / 2; t++) idx.push((2 * y + di) * w + 2 * t + dj);
      picks.push(tensor(Int32Array.from(idx), { shape: [idx.length] }));
    }
    return picks;
  };
  const u1 = unfold(1, 28, 28, 5);
  const u2 = unfold(8, 12, 12, 5);
  const p1 = pool(24, 24);
  const p2 = pool(8, 8);
  const maxOf = (h, picks) => picks.map((p) => indexSelect(h, 2, p)).reduce((a, b) => a.maximum(b));
  return (x, y) => {
    for (const p of params) p.grad = null;
    const n = x.shape[0];
    const c1 = indexSelect(x.reshape([n, 784]), 1, u1).reshape([n, 25, 576]);
    let h = w1.matmul(c1).add(b1).relu(); // [n, 8, 576]
    h = maxOf(h, p1); // [n, 8, 144]
    const c2 = indexSelect(h.reshape([n, 8 * 144]), 1, u2).reshape([n, 200, 64]);
    h = maxOf(w2.matmul(c2).add(b2).relu(), p2); // [n, 16, 16]
    const logits = h.reshape([n, 256]).matmul(w3, { transB: true }).add(b3);
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      for (const p of params) assignInPlace(p, p.sub(p.grad.mul(0.01)));
    });
    return loss;
  };
}

// MNIST-like: about 80% of pixels exactly zero.
const rng = new Rng(1);
const x = zeros([batch, 1, 28, 28]);
for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.19 ? rng.float() : 0;
const y = zeros([batch], { dtype: 'int32' });
for (let i = 0; i < batch; i++) y.data[i] = rng.int(10);

const eager = cnn(3);
const compiled = compile(cnn(3));
const gathered = compile(gatherCnn(3));
const se = time(() => eager(x, y));
const sc = time(() => compiled(x, y));
const sg = time(() => gathered(x, y));
// The same compiled step with the WebAssembly GEMM and convolution kernels
// switched off: the JavaScript lowering (im2col onto the JS GEMM) alone.
setDenseEnabled(false);
const plainJs = compile(cnn(3));
const sj = time(() => plainJs(x, y));
setDenseEnabled(true);
const emit = (line) => console.log(JSON.stringify(line));
// Load on a shared machine moves every figure; the ratios, taken in one run, move less.
emit({
  bench: 'cnn-train-step',
  mode: 'compiled, built from indexSelect gathers (baseline)',
  batch,
  samples_per_s: Math.round(batch / sg),
});
emit({
  bench: 'cnn-train-step',
  mode: 'compiled, JavaScript kernels only',
  batch,
  samples_per_s: Math.round(batch / sj),
});
emit({ bench: 'cnn-train-step', mode: 'eager', batch, samples_per_s: Math.round(batch / se) });
emit({
  bench: 'cnn-train-step',
  mode: 'compiled',
  batch,
  samples_per_s: Math.round(batch / sc),
  ratio_vs_eager: +(se / sc).toFixed(2),
  ratio_vs_gathers: +(sg / sc).toFixed(2),
});
