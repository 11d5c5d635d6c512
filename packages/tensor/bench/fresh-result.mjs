// What a fresh per-example weight gradient costs this engine before any
// kernel runs: the 64×16×784 float32 result of vmap(grad) over the
// 784-16-16-10 network (3.2 MB, bench/transforms.mjs) written into new
// memory every call, as an op's output is, against the same writes into one
// reused array. One JSON line per mode: CPU ms per call (every thread), of
// this thread alone where Node can tell (process.threadCpuUsage), and minor
// page faults per call. Run: `node bench/fresh-result.mjs`.
//
// The difference is the floor under vmap(grad)'s figure that no kernel can
// lower: page faults where the allocator returned freed memory to the
// system, cache misses on memory last written many calls ago, and the
// collector's work (in Node 20 a few megabytes of new ArrayBuffers start a
// cheap minor collection that frees them; in Node 24 they start a full one,
// every few tens of megabytes, marking and sweeping on other threads, as
// --trace-gc shows). A result's memory is never
// reused (a user may still hold it or a view of it, and a synchronous loop
// never lets a FinalizationRegistry report it free), so vmap(grad) pays this.
const floats = 64 * 16 * 784;
const block = 65536; // the outer-product kernel's block (src/kernels/outer-simd.ts)
const source = new Float32Array(block).fill(0.5);

/** A new array as an op's large output is made (dtype.ts kernelOutput, in Node). */
const fresh = () => new Float32Array(Buffer.allocUnsafeSlow(floats * 4).buffer, 0, floats);
const write = (o) => {
  for (let at = 0; at < floats; at += block)
    o.set(source.subarray(0, Math.min(block, floats - at)), at);
  return o;
};
const reused = fresh();
let last = null;
const modes = {
  'fresh result': () => {
    last = write(fresh());
  },
  'reused result': () => {
    last = write(reused);
  },
};

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e3;
};
const thread = process.threadCpuUsage
  ? () => {
      const { user, system } = process.threadCpuUsage();
      return (user + system) / 1e3;
    }
  : () => Number.NaN;
const faults = () => process.resourceUsage().minorPageFault;

for (const f of Object.values(modes)) for (let i = 0; i < 2000; i++) f();
const best = {};
for (let round = 0; round < 7; round++) {
  for (const [name, f] of Object.entries(modes)) {
    const [c0, t0, f0] = [cpu(), thread(), faults()];
    let n = 0;
    while (n < 50 || cpu() - c0 < 100) {
      f();
      n++;
    }
    const ms = (cpu() - c0) / n;
    if (!best[name] || ms < best[name].ms) {
      best[name] = { ms, main: (thread() - t0) / n, faults: (faults() - f0) / n };
    }
  }
}
if (last.length !== floats) throw new Error('unreachable: keeps the writes observable');
for (const [mode, { ms, main, faults: pf }] of Object.entries(best)) {
  console.log(
    JSON.stringify({
      bench: 'fresh 3.2 MB result',
      node: process.version,
      mode,
      cpu_ms: +ms.toFixed(3),
      ...(Number.isNaN(main) ? {} : { main_thread_cpu_ms: +main.toFixed(3) }),
      page_faults_per_call: +pf.toFixed(1),
    }),
  );
}
