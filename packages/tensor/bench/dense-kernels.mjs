// CPU time of the products of the 784-16-16-10 MLP as a compiled plan calls
// them (gemm, operands pinned in the kernels' memory), on one thread:
// inference at batch 1000 (1000 MNIST test images against the first layer,
// then 16-unit activations, half zeros as after ReLU, against the next two)
// and the classic recipe's step at batch 10 (the first layer forward and its
// weight gradient, the last layer forward and its two gradients). With --b, a
// second checkout's build is timed in the same process, the two alternating
// product by product: the figures are each product's best µs of CPU time per
// call over the rounds. Without the MNIST files, images are random with 80%
// zeros (the time then says less: the first layer's cost follows where an
// image's non-zeros are).
// Usage, after a build:
//   node packages/tensor/bench/dense-kernels.mjs [--a DIR] [--b DIR] [--rounds N] [--data DIR]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { bestCpuMicros } from './alternate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const { values: flag } = parseArgs({
  options: {
    a: { type: 'string', default: repo },
    b: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    data: { type: 'string', default: join(repo, '..', 'shared', 'datasets', 'mnist') },
  },
});

/** 1000 test images scaled to [0, 1], or random ones with 80% zeros. */
function images() {
  const file = join(flag.data, 't10k-images-idx3-ubyte.gz');
  const out = new Float32Array(1000 * 784);
  if (existsSync(file)) {
    const bytes = gunzipSync(readFileSync(file));
    for (let i = 0; i < out.length; i++) out[i] = bytes[16 + i] / 255;
    return { pixels: out, kind: 'MNIST test images' };
  }
  let s = 1;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < out.length; i++) out[i] = next() < 0.2 ? next() : 0;
  return { pixels: out, kind: 'random images, 80% zeros (MNIST not found)' };
}
const data = images();

async function products(root) {
  const at = (file) => pathToFileURL(join(resolve(root), 'packages', 'tensor', 'dist', file)).href;
  const T = await import(at('index.js'));
  const { gemm } = await import(at('kernels/gemm.js'));
  T.setThreads(1);
  const rng = new T.Rng(1);
  const pinned = (n, density = 1) => {
    const a = T.allocate('float32', n, { pinMemory: true });
    for (let i = 0; i < n; i++) a[i] = rng.float() < density ? rng.float() - 0.5 : 0;
    return a;
  };
  const x = T.allocate('float32', 1000 * 784, { pinMemory: true });
  x.set(data.pixels);
  const x10 = x.subarray(0, 10 * 784);
  const x64 = x.subarray(0, 64 * 784);
  const [w1, w2, w3] = [pinned(16 * 784), pinned(16 * 16), pinned(10 * 16)];
  const [h1, h2, logits] = [pinned(1000 * 16, 0.5), pinned(1000 * 16, 0.5), pinned(1000 * 10)];
  const [g1, g3, dw1, dh2, dw3, g64] = [
    pinned(160),
    pinned(640),
    pinned(12544),
    pinned(1024),
    pinned(256),
    pinned(1024, 0.5),
  ];
  return {
    'inference: images·W1ᵀ (1000×784 · 784×16)': () =>
      gemm(false, true, 1000, 16, 784, x, 0, w1, 0, h1, 0),
    'inference: h1·W2ᵀ (1000×16 · 16×16)': () =>
      gemm(false, true, 1000, 16, 16, h1, 0, w2, 0, h2, 0),
    'inference: h2·W3ᵀ (1000×16 · 16×10)': () =>
      gemm(false, true, 1000, 10, 16, h2, 0, w3, 0, logits, 0),
    'batch 64: x·W1ᵀ (64×784 · 784×16)': () => gemm(false, true, 64, 16, 784, x64, 0, w1, 0, h1, 0),
    'batch 64: gᵀ·x (16×64 · 64×784)': () => gemm(true, false, 16, 784, 64, g64, 0, x64, 0, dw1, 0),
    'batch 64: h1·W2ᵀ (64×16 · 16×16)': () => gemm(false, true, 64, 16, 16, h1, 0, w2, 0, h2, 0),
    'batch 64: h2·W3ᵀ (64×16 · 16×10)': () =>
      gemm(false, true, 64, 10, 16, h2, 0, w3, 0, logits, 0),
    'batch 64: g·W3 (64×10 · 10×16)': () => gemm(false, false, 64, 16, 10, g3, 0, w3, 0, dh2, 0),
    'batch 64: g·W2 (64×16 · 16×16)': () => gemm(false, false, 64, 16, 16, g64, 0, w2, 0, dh2, 0),
    'batch 64: gᵀ·h2 (10×64 · 64×16)': () => gemm(true, false, 10, 16, 64, g3, 0, h2, 0, dw3, 0),
    'batch 64: gᵀ·h1 (16×64 · 64×16)': () => gemm(true, false, 16, 16, 64, g64, 0, h1, 0, dw3, 0),
    'batch 32: gᵀ·x (16×32 · 32×784)': () => gemm(true, false, 16, 784, 32, g64, 0, x, 0, dw1, 0),
    'batch 20: gᵀ·x (16×20 · 20×784)': () => gemm(true, false, 16, 784, 20, g64, 0, x, 0, dw1, 0),
    'batch 10: x·W1ᵀ (10×784 · 784×16)': () => gemm(false, true, 10, 16, 784, x10, 0, w1, 0, h1, 0),
    'batch 10: gᵀ·x (16×10 · 10×784)': () => gemm(true, false, 16, 784, 10, g1, 0, x10, 0, dw1, 0),
    'batch 10: h2·W3ᵀ (10×16 · 16×10)': () =>
      gemm(false, true, 10, 10, 16, h2, 0, w3, 0, logits, 0),
    'batch 10: g·W3 (10×10 · 10×16)': () => gemm(false, false, 10, 16, 10, g3, 0, w3, 0, dh2, 0),
    'batch 10: gᵀ·h2 (10×10 · 10×16)': () => gemm(true, false, 10, 16, 10, g3, 0, h2, 0, dw3, 0),
  };
}

const builds = [await products(flag.a)];
if (flag.b) builds.push(await products(flag.b));
const best = bestCpuMicros(builds, Number(flag.rounds));
console.log(
  JSON.stringify({ data: data.kind, rounds: Number(flag.rounds), node: process.version }),
);
for (const name of Object.keys(builds[0])) {
  const line = { product: name, 'µs CPU (a)': +best[0][name].toFixed(2) };
  if (flag.b) {
    line['µs CPU (b)'] = +best[1][name].toFixed(2);
    line['b÷a'] = +(best[1][name] / best[0][name]).toFixed(3);
  }
  console.log(JSON.stringify(line));
}
