// CPU µs per batch of 64 random rows of MNIST's shape (60,000 × 784), each way
// a data loader can gather them into a pinned batch buffer: JavaScript's
// TypedArray.set per float32 row and its byte-scaling loop, and gatherRows's
// WebAssembly kernels (float32 rows, and bytes scaled to [0, 1]) on pinned
// data. The ways take turns (bench/alternate.mjs), so a shared machine's
// other work falls on all of them alike. Run after a build:
//   node packages/tensor/bench/gather-rows.mjs
import { allocate, gatherRows, pinArray, Rng } from '../dist/index.js';
import { bestCpuMicros } from './alternate.mjs';

const N = 60000;
const W = 784;
const B = 64;
const rng = new Rng(1);
const bytes = Uint8Array.from({ length: N * W }, () => Math.floor(rng.float() * 256));
const floats = Float32Array.from(bytes, (b) => b / 255);
const order = rng.shuffle(Int32Array.from({ length: N }, (_, i) => i));
const pinnedBytes = pinArray(bytes);
const pinnedFloats = pinArray(floats);
const batch = allocate('float32', B * W, { pinMemory: true });
const table = Float32Array.from({ length: 256 }, (_, b) => b / 255);

let at = 0;
const nextRows = () => {
  const rows = order.subarray(at, at + B);
  at = (at + B) % (N - B);
  return rows;
};
const ways = {
  'float32 rows, TypedArray.set per row': () => {
    const rows = nextRows();
    for (let j = 0; j < B; j++) batch.set(floats.subarray(rows[j] * W, rows[j] * W + W), j * W);
  },
  'bytes / 255, JavaScript loop': () => {
    const rows = nextRows();
    for (let j = 0; j < B; j++) {
      const from = rows[j] * W;
      for (let k = 0; k < W; k++) batch[j * W + k] = table[bytes[from + k]];
    }
  },
  'float32 rows, gatherRows (pinned)': () => gatherRows(pinnedFloats, W, nextRows(), batch),
  'bytes / 255, gatherRows (pinned)': () => gatherRows(pinnedBytes, W, nextRows(), batch),
};
// One "build" per way, each timing its own function under one shared name.
const builds = Object.values(ways).map((run) => ({ gather: run }));
const best = bestCpuMicros(builds, 5);
Object.keys(ways).forEach((name, k) => {
  console.log(JSON.stringify({ way: name, cpu_us_per_batch: Number(best[k].gather.toFixed(1)) }));
});
