// How eager vmap(grad(loss)) settles, one JSON line per window of calls:
// CPU ms and minor page faults per call, for the 784-16-16-10 network over
// 64 examples (the per-example gradients of bench/transforms.mjs).
// Run after a build: `node bench/vmap-warmup.mjs [--quick]`.
//
// Two things move the eager figure that are not the work of one call:
//  - the engine keeps compiling hot code for the first few thousand calls
//    (CPU time on the compiler's threads, counted by process.cpuUsage());
//  - the 3 MB per-example weight gradient is a fresh allocation on every
//    call. When the allocator has handed that memory back to the system
//    (after the collector frees a batch of earlier results, or after other
//    work reshaped the heap), writing it costs a page fault per 4 KB: up to
//    800 a call, more CPU than the rest of the call.
// The windows run vmap(grad) alone first, then again after one second of
// the loop of 64 grad calls, which is how transforms.mjs alternates them.
import { grad, matmul, Rng, randn, setThreads, tensor, vmap, zeros } from '../dist/index.js';

setThreads(1);
const quick = process.argv.includes('--quick');
const windows = quick ? 4 : 12;
const callsPerWindow = quick ? 100 : 500;

const rng = new Rng(7);
const sizes = [784, 16, 16, 10];
const params = [];
for (let l = 0; l < 3; l++) {
  params.push(randn([sizes[l + 1], sizes[l]], { rng }).mul(1 / Math.sqrt(sizes[l])));
  params.push(zeros([sizes[l + 1]]));
}
const batch = 64;
const x = zeros([batch, 784]);
for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.19 ? rng.float() : 0;
const labels = new Float32Array(batch * 10);
for (let i = 0; i < batch; i++) labels[i * 10 + rng.int(10)] = 1;
const y = tensor(labels, { shape: [batch, 10] });

const loss = (w1, b1, w2, b2, w3, b3, xi, yi) => {
  let h = matmul(xi, w1, { transB: true }).add(b1).relu();
  h = matmul(h, w2, { transB: true }).add(b2).relu();
  const logits = matmul(h, w3, { transB: true }).add(b3);
  return logits.logSoftmax().mul(yi).sum().neg();
};
const g = grad(loss);
const perExample = vmap(g, { inAxes: [null, null, null, null, null, null, 0, 0] });
const rows = Array.from({ length: batch }, (_, i) => [
  x.narrow(0, i, 1).reshape([784]),
  y.narrow(0, i, 1).reshape([10]),
]);

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e3;
};
const faults = () => process.resourceUsage().minorPageFault;

let calls = 0;
function measure(phase) {
  for (let w = 0; w < windows; w++) {
    const f0 = faults();
    const c0 = cpuMs();
    for (let i = 0; i < callsPerWindow; i++) perExample(...params, x, y);
    calls += callsPerWindow;
    console.log(
      JSON.stringify({
        bench: 'vmap(grad) warm-up',
        phase,
        calls,
        cpu_ms: +((cpuMs() - c0) / callsPerWindow).toFixed(3),
        page_faults_per_call: +((faults() - f0) / callsPerWindow).toFixed(1),
      }),
    );
  }
}

measure('alone');
const start = cpuMs();
while (cpuMs() - start < 1000) for (const [xi, yi] of rows) g(...params, xi, yi);
measure('after the loop');
