import { ThreadError } from '../errors.js';
import { denseModule } from './dense.js';
import { instantiate, kernelMemory, memoryShared } from './memory.js';
import { gemmModule } from './simd.js';
import {
  ACTIVE,
  BY_WORKERS,
  CALLS,
  CODE_BYTES,
  CODE_COUNT,
  CODE_TABLE,
  CONTROL_INTS,
  claimChunks,
  DONE,
  FAILED,
  FINISHED,
  IDLE_SPIN,
  MAX_CHUNKS,
  MAX_CODE,
  NEXT,
  PUBLISHED,
  READY,
  SEQ,
  SPIN,
  TABLE,
  workerSource,
} from './thread-worker.js';
import { type Func, wasmModule } from './wasm/emit.js';

/**
 * Worker threads for the WebAssembly kernels. A big product is cut into
 * parts that write disjoint outputs, published as chunks that the workers
 * and the calling thread claim in turn (thread-worker.ts); every thread runs
 * the same kernel modules over the same shared memory. Every output element is computed by the same sequence of
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
  ['dense', 'maxpool2'],
  ['gemm', 'nt8'],
  ['gemm', 'tn16'],
  ['gemm', 'ab16'],
  ['gemm', 'rows16'],
] as const;

/**
 * A kernel function a part may call: a fixed kernel by name, or the number
 * `register` gave a module made at run time.
 */
export type KernelFunction = (typeof FUNCTIONS)[number][1] | number;
const NUMBER = new Map<KernelFunction, number>(FUNCTIONS.map(([, f], i) => [f, i]));

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
/** availableCores() when first needed for the default count. */
let cores: number | undefined;

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
  // The default is asked of the system once: every launch asks for the count,
  // and os.availableParallelism() costs 0.5 µs a call in Node 20, 3 µs in Node 24.
  cores ??= availableCores();
  const n = requested ?? cores;
  return n > 1 && threadsSupported() ? n : 1;
}

// ---- the workers ------------------------------------------------------------

/** The control block every worker and this thread share (thread-worker.ts), made with the first worker. */
let control: Int32Array | null = null;
/** The run-time modules' binaries, shared with the workers, and the bytes used. */
let code: Uint8Array | null = null;
let codeUsed = 0;
/** Modules registered, in order: module i's `f` is function number FUNCTIONS.length + i. */
const registered: WebAssembly.Module[] = [];

/**
 * Each registered binary's function number. Kernel caches are bounded and
 * rebuild what they evicted; the rebuilt module is the same code, so it
 * takes its old number instead of another slot of the fixed room.
 */
const numbers = new Map<string, number>();

function bytesKey(binary: Uint8Array): string {
  let key = '';
  for (let at = 0; at < binary.length; at += 4096) {
    key += String.fromCharCode(...binary.subarray(at, at + 4096));
  }
  return key;
}

/**
 * Microseconds an idle worker polls for the next job before it sleeps. A
 * training step's passes too small to share leave gaps of a few hundred
 * microseconds between shared ones: a worker asleep across one took ~50 µs
 * to wake for the next.
 */
const IDLE_SPIN_US = 300;

/** Sets how long an idle worker polls before sleeping, in microseconds; returns the old. */
export function setIdleSpin(us: number = IDLE_SPIN_US): number {
  const ctl = controlBlock();
  return Atomics.exchange(ctl, IDLE_SPIN, us);
}

/** The control block and the code buffer, made once. */
function controlBlock(): Int32Array {
  if (!control) {
    control = new Int32Array(new SharedArrayBuffer(CONTROL_INTS * 4));
    control[IDLE_SPIN] = IDLE_SPIN_US;
    code = new Uint8Array(new SharedArrayBuffer(CODE_BYTES));
  }
  return control;
}

/**
 * Makes a module's exported function `f` callable from parts as the
 * returned number, on this thread and on the workers (which compile it from
 * its binary when a chunk first calls it). Null where workers cannot run or
 * the room for modules is full: then the caller runs the module itself.
 */
export function register(module: WebAssembly.Module, binary: Uint8Array): number | null {
  reason ??= unsupported();
  if (reason !== null) return null;
  const key = bytesKey(binary);
  const known = numbers.get(key);
  if (known !== undefined) return known;
  const ctl = controlBlock();
  const i = registered.length;
  if (i >= MAX_CODE || codeUsed + binary.length > CODE_BYTES) return null;
  numbers.set(key, FUNCTIONS.length + i);
  code!.set(binary, codeUsed);
  ctl[CODE_TABLE + 2 * i] = codeUsed;
  ctl[CODE_TABLE + 2 * i + 1] = binary.length;
  codeUsed += binary.length;
  registered.push(module);
  Atomics.store(ctl, CODE_COUNT, i + 1);
  if (local.length > 0) local.push(instantiateF(module));
  return FUNCTIONS.length + i;
}

/**
 * `f` (exported as `f`) encoded as a module of its own and registered: its
 * number for parts to call, or null as `register` says. It is instantiated
 * here once so that a module this engine cannot run throws now, where the
 * caller falls back to JavaScript, not later inside `parallel`.
 */
export function registerFunction(f: Func): number | null {
  const binary = wasmModule([f], memoryShared());
  const module = new WebAssembly.Module(binary);
  instantiate(module);
  return register(module, binary);
}

/**
 * A getter of what `register` returns (registerFunction's numbers), made on
 * its first call and kept: null where making it throws (an engine without
 * SIMD), and the caller's JavaScript runs instead.
 */
export function onceRegistered<T>(register: () => T | null): () => T | null {
  let made: T | null | undefined;
  return () => {
    if (made === undefined) {
      try {
        made = register();
      } catch {
        made = null;
      }
    }
    return made;
  };
}

function instantiateF(module: WebAssembly.Module): (...args: number[]) => void {
  const instance = new WebAssembly.Instance(module, { env: { memory: kernelMemory()! } });
  return instance.exports.f as (...args: number[]) => void;
}
/** Workers spawned so far: kept when the count goes down, asleep on the control block. */
const workers: (NodeWorker | BrowserWorker)[] = [];
let job = 0;

function spawn(index: number, ctl: Int32Array): NodeWorker | BrowserWorker {
  const modules = { dense: denseModule(), gemm: gemmModule() };
  const init = {
    modules,
    names: FUNCTIONS,
    memory: kernelMemory(),
    control: ctl.buffer,
    code: code!.buffer,
    index,
  };
  const wt = nodeProcess()?.getBuiltinModule?.('node:worker_threads') as
    | { Worker: new (src: string, opts: object) => NodeWorker }
    | undefined;
  if (wt) {
    const w = new wt.Worker(workerSource, {
      eval: true,
      workerData: init,
      name: 'neurite-kernels',
    });
    w.unref(); // an idle worker does not keep the process alive
    // Node starts workers on their own threads: waiting here is safe, and a
    // worker ready before the first product keeps the first results' timing plain.
    Atomics.wait(ctl, READY + index, 0, 10000);
    return w;
  }
  const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
  const W = (globalThis as unknown as { Worker: new (u: string, o: object) => BrowserWorker })
    .Worker;
  const w = new W(url, { name: 'neurite-kernels' });
  // A browser may start the worker only once this thread yields: until it is
  // up it claims no chunks, and this thread runs them all (never block on it).
  w.postMessage(init);
  return w;
}

/** The control block, with `want` workers spawned; null when none is ready yet. */
function team(want: number): Int32Array | null {
  const ctl = controlBlock();
  while (workers.length < want) workers.push(spawn(workers.length, ctl));
  for (let w = 0; w < want; w++) if (Atomics.load(ctl, READY + w) === 1) return ctl;
  return null;
}

// ---- running parts ----------------------------------------------------------

/** Multiply-adds below which a product stays on the calling thread (a wake-up costs ~20–50 µs). */
const PARALLEL_WORK = 1 << 19;

/**
 * Work per value of a pass whose arrays are all in the kernels' memory (a
 * fused loop, a gather, a block sum), in the multiply-adds `parallel` weighs
 * work in: no copy is left to this thread, so splitting pays from 4× fewer
 * values (2^17).
 */
export const IN_PLACE_WORK = 4;

let threshold = PARALLEL_WORK;

/** Sets the work below which products stay on one thread (tests split tiny products with 0); returns the old. */
export function setParallelThreshold(work: number = PARALLEL_WORK): number {
  const old = threshold;
  threshold = work;
  return old;
}

/** Whether `parallel` would cut work of this size now: above the threshold, with threads to run on. */
export function splits(work: number): boolean {
  return work >= threshold && getThreads() > 1;
}

let callerClaims = true;

/** Whether this thread runs chunks too (tests turn it off so workers run every chunk); returns the old. */
export function setCallerClaims(on = true): boolean {
  const old = callerClaims;
  callerClaims = on;
  return old;
}

/**
 * Polls of FINISHED before this thread sleeps until the workers finish a
 * job: SPIN after a wait shorter than FINISH_MS, else halved. On a busy
 * machine a worker may wait for this very core, and polling keeps it off.
 */
let finishPolls = SPIN;
const FINISH_MS = 0.5;

/** Chunks per thread: enough that a thread slow to start costs little, few enough to keep calls long. */
const CHUNKS_PER_THREAD = 8;
let chunksPerThread = CHUNKS_PER_THREAD;

/**
 * Sets the chunks per thread (tests cut work as more threads would, to check
 * the bits do not depend on the cut); returns the old.
 */
export function setChunksPerThread(n: number = CHUNKS_PER_THREAD): number {
  const old = chunksPerThread;
  chunksPerThread = n;
  return old;
}

/** The most parts `parallel` cuts a product into now: callers lay out a scratch region per part. */
export function maxParts(): number {
  const threads = getThreads();
  return threads > 1 ? Math.min(MAX_CHUNKS, threads * chunksPerThread) : 1;
}

const direct: Lane = {
  call(fn, ...args) {
    local[typeof fn === 'number' ? fn : NUMBER.get(fn)!]!(...args);
  },
};
let local: ((...args: number[]) => void)[] = [];

/** Writes a chunk's calls into the control block from `at`; `end` is where it stopped, or −1 when full. */
class Recorder implements Lane {
  end: number;
  constructor(
    readonly ctl: Int32Array,
    at: number,
  ) {
    this.end = at;
  }
  call(fn: KernelFunction, ...args: number[]): void {
    if (this.end < 0) return;
    if (this.end + 2 + args.length > this.ctl.length) {
      this.end = -1;
      return;
    }
    const { ctl } = this;
    const at = this.end;
    ctl[at] = typeof fn === 'number' ? fn : NUMBER.get(fn)!;
    ctl[at + 1] = args.length;
    // A loop: set() from an array into shared memory took ~10× as long.
    for (let i = 0; i < args.length; i++) ctl[at + 2 + i] = args[i]!;
    this.end = at + 2 + args.length;
  }
}

/**
 * Runs the calls of the control block between two offsets on this thread.
 * A call of at most 13 arguments (every fixed kernel's) gets 13 read in
 * place, and a WebAssembly function ignores those past its own: no array is
 * made per call. (A fused loop of more operands takes the general path.)
 */
function runHere(c: Int32Array): (at: number, end: number) => void {
  return (a, end) => {
    while (a < end) {
      const n = c[a + 1]!;
      if (n > 13) {
        local[c[a]!]!(...c.subarray(a + 2, a + 2 + n));
        a += 2 + n;
        continue;
      }
      local[c[a]!]!(
        c[a + 2]!,
        c[a + 3]!,
        c[a + 4]!,
        c[a + 5]!,
        c[a + 6]!,
        c[a + 7]!,
        c[a + 8]!,
        c[a + 9]!,
        c[a + 10]!,
        c[a + 11]!,
        c[a + 12]!,
        c[a + 13]!,
        c[a + 14]!,
      );
      a += 2 + n;
    }
  };
}

/**
 * Runs `part(lane, t, parts)` for t = 0 … parts − 1 and returns when all
 * have run: one call on this thread when `work` (multiply-adds, roughly) is
 * small or there are no workers, else chunks shared with the workers. Each
 * call runs on this thread first, to copy its operands in and give `lane`
 * its kernel calls; those run wherever the chunk is claimed. Each part must
 * write outputs no other part touches and compute each output the same way
 * whatever `parts` is. `collect(t, parts)`, when given, copies part t's
 * results out: it runs on this thread once that part's calls have run, while
 * the workers go on with other parts (else the caller copies out after).
 */
export function parallel(
  work: number,
  part: (lane: Lane, t: number, parts: number) => void,
  collect?: (t: number, parts: number) => void,
): void {
  const threads = work < threshold ? 1 : getThreads();
  const ctl = threads > 1 ? team(threads - 1) : null;
  if (local.length === 0) local = localFunctions();
  if (!ctl) {
    part(direct, 0, 1);
    collect?.(0, 1);
    return;
  }
  const chunks = maxParts();
  // A job number is never 0 mod 2048: NEXT = 0 means no job takes claims.
  do job = (job % 0x3fffffff) + 1;
  while ((job & 2047) === 0);
  const tag = (job & 2047) << 20;
  Atomics.store(ctl, ACTIVE, threads - 1);
  Atomics.store(ctl, PUBLISHED, chunks);
  Atomics.store(ctl, FINISHED, 0);
  Atomics.store(ctl, FAILED, 0);
  Atomics.store(ctl, NEXT, tag | chunks); // every chunk [0, chunks) unclaimed
  Atomics.store(ctl, SEQ, job);
  Atomics.notify(ctl, SEQ);
  // Publish chunk by chunk, the last first: workers claim from the back and
  // start on it while the next is copied in. This thread claims from the
  // front, only once all are published: a worker takes ~50 µs to wake, so
  // claiming each chunk as soon as it is copied left the workers nothing (a
  // 1024³ product ran 1.0× on 2 threads). On 2 threads each thread so takes
  // the same end of every job: most of the images one pass wrote are still
  // in the cache of the core that reads them in the next (a pass reading
  // what the other core wrote runs at its speed on one thread or slower).
  const here = runHere(ctl);
  let at = CALLS;
  let first = chunks; // the chunks [first, chunks) are published
  // This thread copies out the chunks finished (a part's results alias at
  // most its own operands), between publishing chunks and between running
  // them: results out while the workers go on.
  const collected = collect ? new Uint8Array(chunks) : null;
  let left = 0; // published, not yet collected
  const collectDone = (): boolean => {
    let any = false;
    for (let t = first; t < chunks; t++) {
      if (collected![t] === 0 && Atomics.load(ctl, DONE + t) === job) {
        collected![t] = 1;
        left--;
        any = true;
        if (Atomics.load(ctl, FAILED) === 0) collect!(t, chunks);
      }
    }
    return any;
  };
  while (first > 0) {
    const t = first - 1;
    ctl[TABLE + 2 * t] = at;
    const rec = new Recorder(ctl, at);
    part(rec, t, chunks);
    if (rec.end < 0) break; // no room for its calls: it and those before run here, below
    at = rec.end;
    ctl[TABLE + 2 * t + 1] = at;
    first = t;
    Atomics.store(ctl, PUBLISHED, first);
    Atomics.notify(ctl, PUBLISHED);
    left++;
    if (collect) collectDone();
  }
  if (first > 0) {
    // The unpublished chunks are taken off the front, for this thread below.
    for (;;) {
      const cur = Atomics.load(ctl, NEXT);
      const next = tag | (first << 10) | (cur & 0x3ff);
      if (Atomics.compareExchange(ctl, NEXT, cur, next) === cur) break;
    }
  }
  const published = chunks - first;
  if (callerClaims) {
    // With results to copy out, this thread copies out what is finished
    // first and runs a chunk only when nothing is.
    if (collect) while (collectDone() || claimChunks(ctl, job, here, 1, true) > 0);
    else claimChunks(ctl, job, here, undefined, true);
  }
  for (let i = 0; i < finishPolls && Atomics.load(ctl, FINISHED) < published; i++);
  if (Atomics.load(ctl, FINISHED) < published) {
    const since = performance.now();
    for (;;) {
      if (collect) collectDone();
      const finished = Atomics.load(ctl, FINISHED);
      if (finished >= published) break;
      Atomics.wait(ctl, FINISHED, finished);
    }
    finishPolls = performance.now() - since < FINISH_MS ? SPIN : Math.max(256, finishPolls >> 1);
  }
  if (collect) collectDone();
  Atomics.store(ctl, NEXT, 0); // no chunk of this job may be claimed any more
  if (Atomics.load(ctl, FAILED) !== 0) throw new ThreadError('a kernel failed on a worker thread');
  if (collect && left !== 0) throw new ThreadError('a finished chunk was not marked done');
  for (let t = 0; t < first; t++) {
    part(direct, t, chunks);
    collect?.(t, chunks);
  }
}

/** Chunks run by workers so far: tests and benchmarks check the workers were used. */
export function workerParts(): number {
  return control ? Atomics.load(control, BY_WORKERS) : 0;
}

/** This thread's instances of the kernel functions, by number. */
function localFunctions(): ((...args: number[]) => void)[] {
  const modules = { dense: denseModule()!, gemm: gemmModule()! };
  const exports = {
    dense: mainExports('dense', modules.dense),
    gemm: mainExports('gemm', modules.gemm),
  };
  const fixed = FUNCTIONS.map(([m, f]) => exports[m][f] as (...args: number[]) => void);
  return [...fixed, ...registered.map(instantiateF)];
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

/** [from, to) of part t of `count` items cut into `parts` nearly equal runs, in order. */
export function share(count: number, t: number, parts: number): [number, number] {
  return [Math.floor((count * t) / parts), Math.floor((count * (t + 1)) / parts)];
}
