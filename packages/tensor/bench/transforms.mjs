// Function-transform benchmarks of @neurite/tensor, one JSON line per figure.
// Run after a build: `pnpm --filter @neurite/tensor bench` (or `node bench/transforms.mjs [--quick]`).
//  - per-example gradients of the 784-16-16-10 network over 64 examples:
//    vmap(grad(loss)) against a loop of 64 grad calls;
//  - jvp of f: Rⁿ → R at n = 10,000 against one evaluation of f.
import { compile, getThreads, jvp, Rng, randn, setThreads } from '../dist/index.js';
import { perExampleSetup } from './per-example.mjs';

// One thread: the figures are CPU time, which counts every thread, so the
// GEMMs that vmap batches (big enough for the worker pool, unlike the
// loop's one-example products) would be charged for the workers' waiting
// too. This compares the transforms; bench/threads.mjs measures the pool.
setThreads(1);

const quick = process.argv.includes('--quick');
const emit = (line) => console.log(JSON.stringify({ ...line, threads: getThreads() }));

/**
 * Seconds of this process's CPU time per call of each function in `fns`,
 * measured side by side. On a machine shared with other work, CPU time
 * counts what a function costs, not how long it waited for a core. Each
 * function first runs for `warm` seconds: CPU time also counts the engine
 * compiling hot code on its own threads, which would otherwise be charged
 * to the first few hundred calls. Then the rounds alternate between the
 * functions, so that other work's load falls on all of them alike; each
 * figure is the function's fastest of five rounds. `faults` is that round's
 * minor page faults per call: memory the allocator had handed back to the
 * system and takes again (a fresh 3 MB result can cost more in faults than
 * in computing it). `mainSeconds` is that round's CPU time of this thread
 * alone, where Node has `process.threadCpuUsage` (24, not 20): the rest is
 * the engine's other threads, mostly the collector marking and sweeping
 * (in Node 24 new ArrayBuffers start a full collection every few tens of
 * megabytes, where Node 20 runs a cheap minor one, so each fresh 3 MB
 * result costs collector CPU there; bench/fresh-result.mjs measures that
 * floor).
 */
function timeAll(fns, minTime = quick ? 0.1 : 0.5, warm = quick ? 0.2 : 1) {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const faults = () => process.resourceUsage().minorPageFault;
  const thread = process.threadCpuUsage
    ? () => {
        const { user, system } = process.threadCpuUsage();
        return (user + system) / 1e6;
      }
    : () => Number.NaN;
  const names = Object.keys(fns);
  for (const name of names) {
    const start = cpu();
    for (let n = 0; n < 3 || cpu() - start < warm; n++) fns[name]();
  }
  const best = Object.fromEntries(
    names.map((name) => [name, { seconds: Number.POSITIVE_INFINITY, faults: 0, mainSeconds: 0 }]),
  );
  for (let r = 0; r < 5; r++) {
    for (const name of names) {
      let n = 0;
      const faulted = faults();
      const mainStart = thread();
      const start = cpu();
      let elapsed = 0;
      do {
        fns[name]();
        n++;
        elapsed = cpu() - start;
      } while (elapsed < minTime / 5);
      if (elapsed / n < best[name].seconds) {
        best[name] = {
          seconds: elapsed / n,
          faults: (faults() - faulted) / n,
          mainSeconds: (thread() - mainStart) / n,
        };
      }
    }
  }
  return best;
}

// ---- per-example gradients ----------------------------------------------------
{
  const { params, x, y, g, perExample, rows, batch } = perExampleSetup();
  const loop = () => rows.map(([xi, yi]) => g(...params, xi, yi));
  const vmapped = () => perExample(...params, x, y);

  // The two agree before they are timed.
  const a = vmapped()[0];
  const b = loop().map((r) => r[0]);
  let worst = 0;
  b.forEach((r, i) => {
    const got = a.narrow(0, i, 1).reshape(r.shape).data;
    r.data.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - got[j]));
    });
  });
  if (worst > 1e-4) throw new Error(`vmap(grad) and the loop disagree by ${worst}`);

  const compiled = compile(perExample);
  const compiledLoop = compile(g);
  // Three seconds of warm-up each: eager vmap(grad) runs 61 ops a call, and the
  // engine keeps optimising their code for the first ~4,000 calls (about 2.5 s;
  // bench/vmap-warmup.mjs shows it settle). Each mode is timed once it has.
  const t = timeAll(
    {
      loop,
      vmapped,
      compiled: () => compiled(...params, x, y),
      compiledLoop: () => rows.map(([xi, yi]) => compiledLoop(...params, xi, yi)),
    },
    undefined,
    quick ? 0.2 : 3,
  );
  const tLoop = t.loop.seconds;
  const tVmap = t.vmapped.seconds;
  const tCompiled = t.compiled.seconds;
  const tCompiledLoop = t.compiledLoop.seconds;
  const faults = (mode) => +t[mode].faults.toFixed(1);
  // Only where this Node can measure one thread (omitted from the line elsewhere).
  const mainMs = (mode) =>
    Number.isNaN(t[mode].mainSeconds)
      ? {}
      : { main_thread_cpu_ms: +(t[mode].mainSeconds * 1e3).toFixed(2) };
  emit({
    bench: 'per-example-gradients',
    network: '784-16-16-10',
    examples: batch,
    mode: 'loop of grad',
    cpu_ms: +(tLoop * 1e3).toFixed(2),
    ...mainMs('loop'),
    page_faults_per_call: faults('loop'),
  });
  emit({
    bench: 'per-example-gradients',
    network: '784-16-16-10',
    examples: batch,
    mode: 'vmap(grad)',
    cpu_ms: +(tVmap * 1e3).toFixed(2),
    ...mainMs('vmapped'),
    page_faults_per_call: faults('vmapped'),
    speedup_vs_loop: +(tLoop / tVmap).toFixed(1),
  });
  emit({
    bench: 'per-example-gradients',
    network: '784-16-16-10',
    examples: batch,
    mode: 'loop of compiled grad',
    cpu_ms: +(tCompiledLoop * 1e3).toFixed(2),
    ...mainMs('compiledLoop'),
    page_faults_per_call: faults('compiledLoop'),
  });
  emit({
    bench: 'per-example-gradients',
    network: '784-16-16-10',
    examples: batch,
    mode: 'compiled vmap(grad)',
    cpu_ms: +(tCompiled * 1e3).toFixed(2),
    ...mainMs('compiled'),
    page_faults_per_call: faults('compiled'),
    speedup_vs_loop: +(tLoop / tCompiled).toFixed(1),
    speedup_vs_compiled_loop: +(tCompiledLoop / tCompiled).toFixed(1),
  });
}

// ---- jvp against one evaluation -------------------------------------------------
{
  const n = 10_000;
  const rng = new Rng(3);
  const x = randn([n], { rng, dtype: 'float64' });
  const v = randn([n], { rng, dtype: 'float64' });
  const w = randn([n], { rng, dtype: 'float64' });
  const fns = {
    'sum(tanh(x)·w + x²)': (t) => t.tanh().mul(w).add(t.square()).sum(),
    'sum(sin(x)·x)': (t) => t.sin().mul(t).sum(),
    'logSumExp(x·w)': (t) => t.mul(w).logSumExp(),
  };
  for (const [name, f] of Object.entries(fns)) {
    const pair = timeAll({ eval: () => f(x), jvp: () => jvp(f, [x], [v]) });
    const [tf, tj] = [pair.eval.seconds, pair.jvp.seconds];
    emit({
      bench: 'jvp',
      f: name,
      n,
      mode: 'eager',
      eval_cpu_us: +(tf * 1e6).toFixed(1),
      jvp_cpu_us: +(tj * 1e6).toFixed(1),
      ratio_vs_eval: +(tj / tf).toFixed(2),
    });
    // Compiled, the tangent's elementwise ops fuse with the primal's.
    const cf = compile((t) => f(t));
    const cj = compile((t, dt) => jvp(f, [t], [dt]));
    const cpair = timeAll({ eval: () => cf(x), jvp: () => cj(x, v) });
    const [tcf, tcj] = [cpair.eval.seconds, cpair.jvp.seconds];
    emit({
      bench: 'jvp',
      f: name,
      n,
      mode: 'compiled',
      eval_cpu_us: +(tcf * 1e6).toFixed(1),
      jvp_cpu_us: +(tcj * 1e6).toFixed(1),
      ratio_vs_eval: +(tcj / tcf).toFixed(2),
    });
  }
}
