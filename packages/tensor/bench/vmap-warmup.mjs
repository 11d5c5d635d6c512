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
import { setThreads } from '../dist/index.js';
import { perExampleSetup } from './per-example.mjs';

setThreads(1);
const quick = process.argv.includes('--quick');
const windows = quick ? 4 : 12;
const callsPerWindow = quick ? 100 : 500;

const { params, x, y, g, perExample, rows } = perExampleSetup();

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
