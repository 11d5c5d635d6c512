// CPU time of each convolution and pooling kernel of bench/run.mjs's small CNN
// (batch 64: conv 5×5 1→8 on 28×28, 2×2 max pooling of its 8×24×24 result,
// conv 5×5 8→16 on 12×12) on one thread, operands pinned in the kernels' memory
// as a compiled plan holds them. With --b, a second checkout's build is timed
// in the same process, the two alternating kernel by kernel: the figures are
// each kernel's best µs of CPU time per call over the rounds.
// Usage, after a build: node packages/tensor/bench/conv-kernels.mjs [--a DIR] [--b DIR] [--rounds N]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bestCpuMicros } from './alternate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flag } = parseArgs({
  options: {
    a: { type: 'string', default: join(here, '..', '..', '..') },
    b: { type: 'string' },
    rounds: { type: 'string', default: '7' },
  },
});

async function kernels(root) {
  const at = (file) => pathToFileURL(join(resolve(root), 'packages', 'tensor', 'dist', file)).href;
  const T = await import(at('index.js'));
  const conv = await import(at('kernels/wasm-conv.js'));
  const pool = await import(at('kernels/pool.js'));
  const { blockSumKernel } = await import(at('kernels/block-sum.js'));
  T.setThreads(1);
  const rng = new T.Rng(1);
  const pinned = (dtype, n, fill = true) => {
    const a = T.allocate(dtype, n, { pinMemory: true });
    if (fill) for (let i = 0; i < n; i++) a[i] = rng.float() - 0.5;
    return a;
  };
  const geometry = (c, h, o) => {
    const [k, out] = [5, h - 4];
    const g = { n: 64, c, h, w: h, o, oh: out, ow: out, kh: k, kw: k, sh: 1, sw: 1 };
    return { ...g, ph: 0, pw: 0, dh: 1, dw: 1, groups: 1 };
  };
  const out = {};
  for (const [name, g] of [
    ['conv1', geometry(1, 28, 8)],
    ['conv2', geometry(8, 12, 16)],
  ]) {
    const x = pinned('float32', g.n * g.c * g.h * g.w);
    const w = pinned('float32', g.o * g.c * g.kh * g.kw);
    const y = pinned('float32', g.n * g.o * g.oh * g.ow);
    const dx = pinned('float32', x.length, false);
    const dw = pinned('float32', w.length, false);
    const [forward, transpose, weight] = [
      conv.wasmConvForward(g),
      conv.wasmConvTranspose(g),
      conv.wasmConvWeight(g),
    ];
    out[`${name} forward`] = () => forward(y, x, w);
    if (name === 'conv2') out[`${name} input gradient`] = () => transpose(dx, y, w);
    out[`${name} weight gradient`] = () => weight(dw, x, y);
  }
  // conv1's activations [64, 8, 24, 24] pooled to [64, 8, 12, 12], and its bias gradient.
  const [planes, H, W] = [512, 24, 24];
  const a = pinned('float32', planes * H * W);
  const idx = pinned('int32', planes * 144, false);
  const v = pinned('float32', planes * 144);
  const back = pinned('float32', a.length, false);
  const g = { planes, h: H, w: W, oh: 12, ow: 12, kh: 2, kw: 2, sh: 2, sw: 2 };
  const window = { ...g, ph: 0, pw: 0, dh: 1, dw: 1 };
  const biasSum = blockSumKernel(64, 8, H * W);
  const sums = new Float32Array(8);
  out['max pool arg-max'] = () => pool.maxPoolArgmax(window, a, idx);
  out['max pool gather'] = () => pool.gatherLast(a, H * W, idx, 144, planes, v);
  out['max pool gradient scatter'] = () => pool.scatterAddLast(v, 144, idx, H * W, planes, back);
  out['conv1 bias gradient'] = () => biasSum(sums, a);
  return out;
}

const builds = [await kernels(flag.a)];
if (flag.b) builds.push(await kernels(flag.b));
const best = bestCpuMicros(builds, Number(flag.rounds));
for (const name of Object.keys(builds[0])) {
  const line = { kernel: name, 'µs CPU (a)': Math.round(best[0][name]) };
  if (flag.b) {
    line['µs CPU (b)'] = Math.round(best[1][name]);
    line['b÷a'] = +(best[1][name] / best[0][name]).toFixed(3);
  }
  console.log(JSON.stringify(line));
}
