// Kernel and step benchmarks of @neurite/tensor, one JSON line per figure.
// Run after a build: `pnpm --filter @neurite/tensor bench`.
import {
  assignInPlace,
  compile,
  conv2d,
  maxPool2d,
  noGrad,
  oneHot,
  Rng,
  randn,
  tensor,
  zeros,
} from '../dist/index.js';
import { convForward, convTranspose, convWeight } from '../dist/kernels/conv.js';
import { setDenseEnabled } from '../dist/kernels/dense.js';

const quick = process.argv.includes('--quick');
// --cpu times by this process's CPU time instead of the wall clock: on a
// machine shared with other work, the time the kernels actually ran (every
// kernel here is single-threaded; V8's GC threads count against them).
const clock = process.argv.includes('--cpu') ? 'cpu' : 'wall';
const now =
  clock === 'cpu'
    ? () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1000;
      }
    : () => performance.now();

/** Median seconds per call of `fn`, after a warm-up, over rounds of at least `minTime`. */
function time(fn, minTime = quick ? 0.05 : 0.4) {
  for (let i = 0; i < 5; i++) fn();
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const start = now();
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = (now() - start) / 1000;
    } while (elapsed < minTime / 5);
    rounds.push(elapsed / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

/** Sparse like MNIST: ~80% of inputs are exactly zero. */
function sparseImages(rng, n) {
  const x = zeros([n, 784]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.19 ? rng.float() : 0;
  return x;
}

const rng = new Rng(1);
const emit = (line) => console.log(JSON.stringify({ ...line, clock }));

// matmul shapes of the 784-16-16-10 network at batch 64.
const cases = [
  { name: '[64,784]@[784,16]', a: sparseImages(rng, 64), b: randn([784, 16], { rng }), opts: {} },
  {
    name: '[784,64]@[64,16] (Aᵀ·B, weight gradient)',
    a: sparseImages(rng, 64),
    b: randn([64, 16], { rng }),
    opts: { transA: true },
  },
  {
    name: '[64,16]@[16,784]ᵀ-style (A·Bᵀ, input gradient)',
    a: randn([64, 16], { rng }),
    b: randn([784, 16], { rng }),
    opts: { transB: true },
  },
  {
    name: '[64,784]@[16,784]ᵀ (A·Bᵀ, dense layer forward)',
    a: sparseImages(rng, 64),
    b: randn([16, 784], { rng }),
    opts: { transB: true },
  },
];
// The products a small CNN's im2col lowering makes at batch 64 (conv 5×5×8 and
// 5×5×16 on 28×28 images), in both layouts the lowering can choose.
const dense = (shape) => randn(shape, { rng });
cases.push(
  {
    name: 'conv1 fwd [36864,25]@[8,25]ᵀ',
    a: dense([36864, 25]),
    b: dense([8, 25]),
    opts: { transB: true },
  },
  { name: 'conv1 fwd [8,25]@[25,576] per image', a: dense([8, 25]), b: dense([25, 576]), opts: {} },
  {
    name: 'conv1 dW [8,576]@[25,576]ᵀ per image',
    a: dense([8, 576]),
    b: dense([25, 576]),
    opts: { transB: true },
  },
  {
    name: 'conv2 fwd [4096,200]@[16,200]ᵀ',
    a: dense([4096, 200]),
    b: dense([16, 200]),
    opts: { transB: true },
  },
  { name: 'conv2 fwd [16,200]@[200,4096]', a: dense([16, 200]), b: dense([200, 4096]), opts: {} },
  {
    name: 'conv2 fwd [16,200]@[200,64] per image',
    a: dense([16, 200]),
    b: dense([200, 64]),
    opts: {},
  },
  {
    name: 'conv2 dW [16,4096]@[200,4096]ᵀ',
    a: dense([16, 4096]),
    b: dense([200, 4096]),
    opts: { transB: true },
  },
  {
    name: 'conv2 dW [16,64]@[200,64]ᵀ per image',
    a: dense([16, 64]),
    b: dense([200, 64]),
    opts: { transB: true },
  },
  {
    name: 'conv2 dX [16,200]ᵀ@[16,4096]',
    a: dense([16, 200]),
    b: dense([16, 4096]),
    opts: { transA: true },
  },
  {
    name: 'conv2 dX [16,200]ᵀ@[16,64] per image',
    a: dense([16, 200]),
    b: dense([16, 64]),
    opts: { transA: true },
  },
  { name: 'conv2 dX [4096,16]@[16,200]', a: dense([4096, 16]), b: dense([16, 200]), opts: {} },
);
for (const c of cases) {
  const out = c.a.matmul(c.b, c.opts);
  const k = c.opts.transA ? c.a.shape[0] : c.a.shape[1];
  const flops = 2 * out.size * k;
  // The same product without the dense kernel, in the same process: the figure before it.
  setDenseEnabled(false);
  const before = time(() => c.a.matmul(c.b, c.opts));
  setDenseEnabled(true);
  const s = time(() => c.a.matmul(c.b, c.opts));
  emit({
    bench: 'matmul',
    shape: c.name,
    gflops: +(flops / s / 1e9).toFixed(3),
    us: +(s * 1e6).toFixed(1),
    gflops_without_dense_kernel: +(flops / before / 1e9).toFixed(3),
  });
}

// Forward + backward (+ Adam update) of the 784-16-16-10 MLP at batch 64.
function mlp(seed) {
  const r = new Rng(seed);
  const sizes = [784, 16, 16, 10];
  const params = [];
  for (let l = 0; l < 3; l++) {
    params.push(
      randn([sizes[l + 1], sizes[l]], { rng: r })
        .mul(1 / Math.sqrt(sizes[l]))
        .requireGrad(),
    );
    params.push(zeros([sizes[l + 1]], { requiresGrad: true }));
  }
  const m = params.map((p) => zeros(p.shape));
  const v = params.map((p) => zeros(p.shape));
  const lr = tensor([1e-3]);
  const step = (x, y) => {
    for (const p of params) p.grad = null;
    let h = x;
    for (let l = 0; l < 3; l++) {
      h = h.matmul(params[2 * l], { transB: true }).add(params[2 * l + 1]);
      if (l < 2) h = h.relu();
    }
    const loss = h.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      params.forEach((p, i) => {
        const g = p.grad;
        assignInPlace(m[i], m[i].mul(0.9).add(g.mul(0.1)));
        assignInPlace(v[i], v[i].mul(0.999).add(g.mul(g).mul(0.001)));
        assignInPlace(p, p.sub(lr.mul(m[i]).div(v[i].sqrt().add(1e-8))));
      });
    });
    return loss;
  };
  return step;
}
const x = sparseImages(rng, 64);
const y = zeros([64], { dtype: 'int32' });
for (let i = 0; i < 64; i++) y.data[i] = rng.int(10);
const eager = mlp(3);
const compiled = compile(mlp(3));
const se = time(() => eager(x, y));
const sc = time(() => compiled(x, y));
// Eager runs the Adam update op by op, a dozen passes per weight: nn's optimisers
// replay theirs as a compiled plan even in eager mode, which this does not.
emit({
  bench: 'mlp-train-step',
  mode: 'eager',
  batch: 64,
  update: 'op by op',
  samples_per_s: Math.round(64 / se),
});
emit({
  bench: 'mlp-train-step',
  mode: 'compiled',
  batch: 64,
  samples_per_s: Math.round(64 / sc),
  ratio_vs_eager: +(se / sc).toFixed(2),
});

// Convolution kernels at the small CNN's shapes, batch 64: forward, input
// gradient (the transposed convolution) and weight gradient, each with and
// without the WebAssembly kernels (without: im2col onto the GEMM in JS).
const convShapes = [
  { name: 'conv1 1→8 5×5 on 28×28', n: 64, c: 1, h: 28, w: 28, o: 8, k: 5 },
  { name: 'conv2 8→16 5×5 on 12×12', n: 64, c: 8, h: 12, w: 12, o: 16, k: 5 },
];
const f32 = (n) => new Float32Array(n);
for (const s of convShapes) {
  const oh = s.h - s.k + 1;
  const g = {
    n: s.n,
    c: s.c,
    h: s.h,
    w: s.w,
    o: s.o,
    oh,
    ow: oh,
    kh: s.k,
    kw: s.k,
    sh: 1,
    sw: 1,
    ph: 0,
    pw: 0,
    dh: 1,
    dw: 1,
    groups: 1,
  };
  const xs = randn([s.n * s.c * s.h * s.w], { rng }).data;
  const ws = randn([s.o * s.c * s.k * s.k], { rng }).data;
  const ys = randn([s.n * s.o * oh * oh], { rng }).data;
  const flops = 2 * s.n * s.o * oh * oh * s.c * s.k * s.k;
  // Results written into buffers made once, as compile's plans do.
  const [yOut, xOut, wOut] = [f32(ys.length), f32(xs.length), f32(ws.length)];
  const kernels = {
    forward: [convForward, (k) => k(yOut, xs, ws)],
    'input gradient': [convTranspose, (k) => k(xOut, ys, ws)],
    'weight gradient': [convWeight, (k) => k(wOut, xs, ys)],
  };
  for (const [kernel, [make, run]] of Object.entries(kernels)) {
    setDenseEnabled(false);
    const slow = make(g, f32);
    const before = time(() => run(slow));
    setDenseEnabled(true);
    const fast = make(g, f32);
    const after = time(() => run(fast));
    emit({
      bench: 'conv-kernel',
      shape: s.name,
      kernel,
      gflops: +(flops / after / 1e9).toFixed(3),
      us: +(after * 1e6).toFixed(1),
      gflops_im2col_js: +(flops / before / 1e9).toFixed(3),
    });
  }
}

// Training step of the small CNN at batch 64: conv 5×5×8 → ReLU → maxpool 2 →
// conv 5×5×16 → ReLU → maxpool 2 → dense 10, softmax cross-entropy, Adam 1e-3.
function cnn(seed) {
  const r = new Rng(seed);
  const he = (shape, fanIn) =>
    randn(shape, { rng: r })
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
  const m = params.map((p) => zeros(p.shape));
  const v = params.map((p) => zeros(p.shape));
  const lr = tensor([1e-3]);
  return (x, y) => {
    for (const p of params) p.grad = null;
    let h = maxPool2d(conv2d(x, w1, b1).relu(), 2);
    h = maxPool2d(conv2d(h, w2, b2).relu(), 2);
    const logits = h.reshape([x.shape[0], 256]).matmul(w3, { transB: true }).add(b3);
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      params.forEach((p, i) => {
        const g = p.grad;
        assignInPlace(m[i], m[i].mul(0.9).add(g.mul(0.1)));
        assignInPlace(v[i], v[i].mul(0.999).add(g.mul(g).mul(0.001)));
        assignInPlace(p, p.sub(lr.mul(m[i]).div(v[i].sqrt().add(1e-8))));
      });
    });
    return loss;
  };
}
const images = sparseImages(rng, 64).reshape([64, 1, 28, 28]);
const cnnEager = cnn(5);
const cnnCompiled = compile(cnn(5));
const ce = time(() => cnnEager(images, y));
const cc = time(() => cnnCompiled(images, y));
emit({
  bench: 'cnn-train-step',
  mode: 'eager',
  batch: 64,
  update: 'op by op',
  samples_per_s: Math.round(64 / ce),
});
emit({
  bench: 'cnn-train-step',
  mode: 'compiled',
  batch: 64,
  samples_per_s: Math.round(64 / cc),
  ratio_vs_eager: +(ce / cc).toFixed(2),
});
