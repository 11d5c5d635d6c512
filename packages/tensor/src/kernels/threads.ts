import { ThreadError } from '../errors.js';
import { denseModule } from './dense.js';
import { kernelMemory, memoryShared } from './memory.js';
import { gemmModule } from './simd.js';
import {
  CALLS,
  CONTROL_INTS,
  DONE,
  FAILED,
  LENGTH,
  READY,
  SEQ,
  SPIN,
  workerSource,
} from './thread-worker.js';

/**
 * Worker threads for the WebAssembly kernels. A big product is cut into
 * parts that write disjoint outputs; part 0 runs on the calling thread and
 * the others on workers, which run the same kernel modules over the same
 * shared memory. Every output element is computed by the same sequence of
 * operations whichever part it falls in, so results are bit-identical for
 * every thread count.
 */

/** The kernel functions a worker can run, by number: [module, export]. */
const FUNCTIONS = [
  ['dense', 'tiles'],
  ['dense', 'conv_rows'],
  ['dense', 'conv_grad'],
  ['dense', 'conv_scatter'],
  ['dense', 'compact'],
  ['dense', 'pack_a'],
  ['dense', 'pack_b'],
  ['dense', 'pad'],
  ['dense', 'crop'],
  ['gemm', 'nt8'],
  ['gemm', 'tn16'],
  ['gemm', 'ab16'],
  ['gemm', 'rows16'],
] as const;

/** A kernel function a part may call. */
export type KernelFunction = (typeof FUNCTIONS)[number][1];
const NUMBER = new Map<string, number>(FUNCTIONS.map(([, f], i) => [f, i]));

/** Where a part's kernel calls go: straight to this thread's instances, or to a worker's list. */
export interface Lane {
  call(fn: KernelFunction, ...args: number[]): void;
}

// ---- the platform -----------------------------------------------------------

interface NodeWorker {
  unref(): void;
}
interface BrowserWorker {
  postMessage(message: unknown): void;
}

type Process = { getBuiltinModule?: (id: string) => unknown };
const nodeProcess = (): Process | undefined => (globalThis as { process?: Process }).process;

/** Cores this program may use: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser. */
export function availableCores(): number {
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as
    | { availableParallelism?: () => number; cpus: () => unknown[] }
    | undefined;
  const n = os
    ? (os.availableParallelism?.() ?? os.cpus().length)
    : (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
        ?.hardwareConcurrency;
  return Math.max(1, Math.floor(n ?? 1));
}

/** Why threads cannot run here, or null when they can. */
function unsupported(): string | null {
  if (!kernelMemory()) return 'WebAssembly is unavailable';
  if (!memoryShared()) {
    return 'SharedArrayBuffer is unavailable (a web page must be cross-origin isolated: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  const g = globalThis as { document?: unknown; Worker?: unknown };
  if (typeof g.document !== 'undefined') {
    return "a page's main thread may not block on Atomics.wait (run training in a Web Worker)";
  }
  if (nodeProcess()) {
    if (!nodeProcess()?.getBuiltinModule?.('node:worker_threads')) {
      return 'node:worker_threads is not reachable (process.getBuiltinModule needs Node 20.16 or later)';
    }
  } else if (typeof g.Worker !== 'function') return 'Web Workers are unavailable';
  return null;
}

let reason: string | null | undefined;
let warned = false;

/** Whether workers can run here; says why not once, on the console. */
function threadsSupported(): boolean {
  if (reason === undefined) reason = unsupported();
  if (reason !== null && !warned) {
    warned = true;
    console.warn(`neurite: running the kernels on one thread: ${reason}.`);
  }
  return reason === null;
}

// ---- the thread count -------------------------------------------------------

let requested: number | undefined;

/**
 * Sets how many threads the big WebAssembly kernels (GEMMs, convolutions and
 * their gradients) run on: this one and `n − 1` workers sharing its memory.
 * The default is every core available. Results are bit-identical for every
 * thread count. Where threads cannot run (no SharedArrayBuffer, or a page's
 * main thread), the kernels run on one thread and a console warning says so
 * once.
 *
 * @throws {ThreadError} when `n` is not an integer from 1 to the cores available.
 * @example
 * ```ts
 * import { getThreads, setThreads } from '@neurite/tensor';
 * setThreads(1); // one core: for timing, or to leave the other free
 * console.log(getThreads()); // 1
 * ```
 */
export function setThreads(n: number): void {
  const limit = availableCores();
  if (!Number.isInteger(n) || n < 1 || n > limit) {
    throw new ThreadError(
      `setThreads: ${String(n)} threads is not allowed: an integer from 1 to ${limit} (the cores available here)`,
    );
  }
  requested = n;
  if (n > 1) threadsSupported();
}

/**
 * The number of threads the kernels run on: what `setThreads` set (every
 * core available by default), or 1 where threads cannot run.
 *
 * @example
 * ```ts
 * import { getThreads } from '@neurite/tensor';
 * console.log(`kernels on ${getThreads()} threads`);
 * ```
 */
export function getThreads(): number {
  const n = requested ?? availableCores();
  return n > 1 && threadsSupported() ? n : 1;
}

// ---- the workers ------------------------------------------------------------

interface Worker {
  readonly control: Int32Array;
  readonly handle: NodeWorker | BrowserWorker;
  /** Sequence number of the last list posted. */
  seq: number;
}

/** Workers spawned so far: kept when the count goes down, asleep on their control blocks. */
const workers: Worker[] = [];

function spawn(): Worker {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
  const modules = { dense: denseModule(), gemm: gemmModule() };
  const init = { modules, names: FUNCTIONS, memory: kernelMemory(), control: control.buffer };
  const wt = nodeProcess()?.getBuiltinModule?.('node:worker_threads') as
    | { Worker: new (src: string, opts: object) => NodeWorker }
    | undefined;
  let handle: NodeWorker | BrowserWorker;
  if (wt) {
    const w = new wt.Worker(workerSource, {
      eval: true,
      workerData: init,
      name: 'neurite-kernels',
    });
    w.unref(); // an idle worker does not keep the process alive
    // Node starts workers on their own threads: waiting here is safe, and a
    // worker ready before the first product keeps the first results' timing plain.
    Atomics.wait(control, READY, 0, 10000);
    handle = w;
  } else {
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
    const W = (globalThis as unknown as { Worker: new (u: string, o: object) => BrowserWorker })
      .Worker;
    const w = new W(url, { name: 'neurite-kernels' });
    // A browser may start the worker only once this thread yields: it takes
    // parts only when READY says it is up (never block on it here).
    w.postMessage(init);
    handle = w;
  }
  return { control, handle, seq: 0 };
}

/** The workers ready to take a part now (spawned on first need). */
function readyWorkers(want: number): Worker[] {
  while (workers.length < want) workers.push(spawn());
  const ready: Worker[] = [];
  for (const w of workers) {
    if (ready.length === want) break;
    if (Atomics.load(w.control, READY) === 1) ready.push(w);
  }
  return ready;
}

// ---- running parts ----------------------------------------------------------

/** Multiply-adds below which a product stays on the calling thread (a wake-up costs ~20–50 µs). */
const PARALLEL_WORK = 1 << 19;
let threshold = PARALLEL_WORK;

/** Sets the work below which products stay on one thread (tests split tiny products with 0); returns the old. */
export function setParallelThreshold(work: number = PARALLEL_WORK): number {
  const old = threshold;
  threshold = work;
  return old;
}

const direct: Lane = {
  call(fn, ...args) {
    local[NUMBER.get(fn)!]!(...args);
  },
};
let local: ((...args: number[]) => void)[] = [];

/** Records calls for a worker. */
class Recorder implements Lane {
  calls: number[] = [];
  call(fn: KernelFunction, ...args: number[]): void {
    this.calls.push(NUMBER.get(fn)!, args.length, ...args);
  }
}

/**
 * Runs `part(lane, t, parts)` for t = 0 … parts − 1, in parallel: part 0 on
 * this thread, the others on workers; returns when all are done. `parts` is
 * the thread count when `work` (multiply-adds, roughly) is worth it and
 * workers are ready, else 1. Each part must write outputs no other part
 * touches, and compute each the same way whatever `parts` is.
 */
export function parallel(work: number, part: (lane: Lane, t: number, parts: number) => void): void {
  const threads = work < threshold ? 1 : getThreads();
  const ready = threads > 1 ? readyWorkers(threads - 1) : [];
  const parts = ready.length + 1;
  if (local.length === 0) local = localFunctions();
  if (parts === 1) {
    part(direct, 0, 1);
    return;
  }
  const leftover: number[][] = [];
  const posted: Worker[] = [];
  for (let t = 1; t < parts; t++) {
    const w = ready[t - 1]!;
    const rec = new Recorder();
    part(rec, t, parts);
    if (rec.calls.length === 0) continue;
    if (CALLS + rec.calls.length > CONTROL_INTS) {
      leftover.push(rec.calls); // too long a list: run here, after part 0
      continue;
    }
    w.control.set(rec.calls, CALLS);
    w.control[LENGTH] = rec.calls.length;
    w.seq = (w.seq % 0x3fffffff) + 1;
    Atomics.store(w.control, SEQ, w.seq);
    Atomics.notify(w.control, SEQ);
    posted.push(w);
    postedParts++;
  }
  part(direct, 0, parts);
  for (const calls of leftover) {
    for (let at = 0; at < calls.length; at += 2 + calls[at + 1]!) {
      local[calls[at]!]!(...calls.slice(at + 2, at + 2 + calls[at + 1]!));
    }
  }
  let failed = false;
  for (const w of posted) {
    for (let i = 0; i < SPIN && Atomics.load(w.control, DONE) !== w.seq; i++);
    for (;;) {
      const done = Atomics.load(w.control, DONE);
      if (done === w.seq) break;
      Atomics.wait(w.control, DONE, done);
    }
    if (Atomics.exchange(w.control, FAILED, 0) !== 0) failed = true;
  }
  if (failed) throw new ThreadError('a kernel failed on a worker thread');
}

let postedParts = 0;

/** Parts run on workers so far: tests and benchmarks check the workers were used. */
export function workerParts(): number {
  return postedParts;
}

/** This thread's instances of the kernel functions, by number. */
function localFunctions(): ((...args: number[]) => void)[] {
  const modules = { dense: denseModule()!, gemm: gemmModule()! };
  const exports = {
    dense: mainExports('dense', modules.dense),
    gemm: mainExports('gemm', modules.gemm),
  };
  return FUNCTIONS.map(([m, f]) => exports[m][f] as (...args: number[]) => void);
}

const instances = new Map<string, Record<string, unknown>>();

/** This thread's instance of a kernel module for the parts it runs itself. */
function mainExports(name: string, module: WebAssembly.Module): Record<string, unknown> {
  let e = instances.get(name);
  if (!e) {
    e = new WebAssembly.Instance(module, { env: { memory: kernelMemory()! } }).exports;
    instances.set(name, e);
  }
  return e;
}

/**
 * [from, to) of part t of `count` items cut into `parts` runs in order, part
 * 0 weighing `first` against 1 for each other part: the calling thread also
 * copies every part's operands in before the workers start, so it takes less.
 */
export function share(count: number, t: number, parts: number, first = 1): [number, number] {
  const total = first + parts - 1;
  const at = (u: number) => (u === 0 ? 0 : Math.round((count * (first + u - 1)) / total));
  return [at(t), t === parts - 1 ? count : at(t + 1)];
}
