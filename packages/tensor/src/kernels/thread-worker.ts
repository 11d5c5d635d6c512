/**
 * The layout of the threads' control block, and the workers' source.
 *
 * A product is cut into chunks, each a list of kernel calls (`[function,
 * argument count, arguments…]`, all i32: byte offsets and sizes) writing
 * outputs no other chunk writes. The calling thread copies a chunk's
 * operands in, writes its calls to the control block (an Int32Array over a
 * SharedArrayBuffer) and publishes it, the last chunk first; the workers
 * claim the last unclaimed published chunk with a compare-and-swap on NEXT
 * and run it, and the calling thread claims the first once it has published
 * them all. So the calling thread's copies
 * overlap the workers' work, and a worker that is slow to wake (a busy
 * machine) takes fewer chunks instead of holding the others up. Which thread runs a chunk changes no bit.
 */

/** Ints of the control block's header. */
export const SEQ = 0; // the job's number: the calling thread bumps it to start a job
/**
 * (job number mod 2048) << 20 | lo << 10 | hi: the chunks [lo, hi) are not
 * yet claimed. The calling thread claims from the front (lo), workers from
 * the back (hi − 1).
 */
export const NEXT = 1;
export const PUBLISHED = 2; // the first chunk published: chunks are published from the last down
export const FINISHED = 4; // chunks run to the end
export const FAILED = 5; // 1 if a call threw
export const ACTIVE = 6; // workers taking part: those numbered below it
export const BY_WORKERS = 7; // chunks run by workers, ever (a statistic)
/** READY + w: 1 once worker w is instantiated, −1 if that failed. */
export const READY = 16;
/** Chunk i's calls run from the offset at TABLE + 2i (into the control block) to the one at TABLE + 2i + 1. */
export const TABLE = 64;
/** Chunks a job may have (lo and hi of NEXT take 10 bits each). */
export const MAX_CHUNKS = 512;
/** DONE + i: the job number once chunk i has run to the end, so its results can be copied out. */
export const DONE = TABLE + 2 * MAX_CHUNKS + 1;
/**
 * Modules made at run time (fused elementwise loops, gathers, block sums):
 * ints CODE_TABLE + 2i and CODE_TABLE + 2i + 1 hold the offset and length of
 * module i's binary in the code buffer, and its function `f` is function
 * number FIXED + i, FIXED being the count of the fixed kernel functions. A
 * worker compiles a module the first time a chunk calls it. CODE_COUNT holds
 * how many are registered.
 */
export const CODE_COUNT = 8;
export const MAX_CODE = 2048;
export const CODE_TABLE = DONE + MAX_CHUNKS;
/** Bytes of the buffer holding the run-time modules' binaries. */
export const CODE_BYTES = 1 << 22;
export const CALLS = CODE_TABLE + 2 * MAX_CODE;
/** Ints of the control block: room for tens of thousands of calls. */
export const CONTROL_INTS = 1 << 20;
/** Polls of a flag before sleeping on it: a wake-up costs tens of microseconds. */
export const SPIN = 20000;
/** Microseconds an idle worker polls for the next job before it sleeps (the calling thread sets it). */
export const IDLE_SPIN = 9;

/**
 * Claims and runs published chunks of the current job until none is left
 * to claim or `most` have run; returns how many it ran. `job` is the job's
 * number; `run(at, end)` runs the calls between two offsets; `front` claims
 * from the front (the calling thread, once every chunk is published), else
 * from the back, waiting for a chunk to be published. The same code runs on
 * every thread: it is spliced into the worker's source as text, so it names
 * the header's ints (and DONE, 1089) by number.
 */
export function claimChunks(
  ctl: Int32Array,
  job: number,
  run: (at: number, end: number) => void,
  most = 1 << 30,
  front = false,
): number {
  const tag = (job & 2047) << 20;
  let ran = 0;
  while (ran < most) {
    const cur = Atomics.load(ctl, 1);
    if ((cur & ~0xfffff) !== tag) return ran; // the job is over
    const lo = (cur >> 10) & 0x3ff;
    const hi = cur & 0x3ff;
    if (lo >= hi) return ran;
    const idx = front ? lo : hi - 1;
    const first = Atomics.load(ctl, 2);
    if (idx < first) {
      if (front) return ran;
      // The first chunk is being written: a few microseconds, unless its
      // operands are being copied in.
      for (let i = 0; i < 4096 && Atomics.load(ctl, 2) === first; i++);
      Atomics.wait(ctl, 2, first, 1);
      continue;
    }
    if (Atomics.compareExchange(ctl, 1, cur, front ? cur + 1024 : cur - 1) !== cur) continue;
    try {
      run(ctl[64 + 2 * idx]!, ctl[65 + 2 * idx]!);
    } catch {
      Atomics.store(ctl, 5, 1);
    }
    ran++;
    Atomics.store(ctl, 1089 + idx, job);
    Atomics.add(ctl, 4, 1);
    Atomics.notify(ctl, 4);
  }
  return ran;
}

/**
 * The workers' script, self-contained (it is run from a string: no bundler
 * or file path is involved, in Node or in a browser). `start` receives
 * `{ modules, names, memory, control, code, index }`: the compiled kernel
 * modules by name, the [module, export] pair of each function number, the
 * memory, the control block's buffer, the run-time modules' buffer and the
 * worker's number.
 */
export const workerSource = `
'use strict';
const claimChunks = ${claimChunks.toString()};
const start = ({ modules, names, memory, control, code, index }) => {
  const ctl = new Int32Array(control);
  const bytes = new Uint8Array(code);
  let fns;
  // A run-time module's function, compiled from the code buffer on first call.
  const load = (id) => {
    const i = id - names.length;
    if (i < 0 || i >= Atomics.load(ctl, ${CODE_COUNT})) throw new Error('no kernel function ' + id);
    const at = ctl[${CODE_TABLE} + 2 * i];
    const binary = bytes.slice(at, at + ctl[${CODE_TABLE} + 2 * i + 1]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory } });
    return (fns[id] = instance.exports.f);
  };
  try {
    const exports = {};
    for (const name of Object.keys(modules)) {
      exports[name] = new WebAssembly.Instance(modules[name], { env: { memory } }).exports;
    }
    fns = names.map(([m, f]) => exports[m][f]);
    Atomics.store(ctl, ${READY} + index, 1);
  } catch {
    Atomics.store(ctl, ${READY} + index, -1);
  }
  Atomics.notify(ctl, ${READY} + index);
  if (!fns) return;
  const run = (at, end) => {
    Atomics.add(ctl, ${BY_WORKERS}, 1); // before FINISHED counts the chunk
    // Up to 13 arguments a call read in place (a function ignores the rest).
    const c = ctl;
    while (at < end) {
      const n = c[at + 1];
      const fn = fns[c[at]] ?? load(c[at]);
      if (n > 13) fn(...c.subarray(at + 2, at + 2 + n));
      else fn(c[at + 2], c[at + 3], c[at + 4], c[at + 5], c[at + 6], c[at + 7], c[at + 8],
        c[at + 9], c[at + 10], c[at + 11], c[at + 12], c[at + 13], c[at + 14]);
      at += 2 + n;
    }
  };
  // From 0, not from SEQ: a job posted while this worker was starting is one to join.
  let seen = 0;
  // Microseconds to poll for the next job before sleeping: the calling
  // thread's limit after a job that came within it, else halved (jobs far
  // apart, or the calling thread short of a core: polling would take it).
  let idle = 0;
  for (;;) {
    const limit = Atomics.load(ctl, ${IDLE_SPIN});
    const since = performance.now();
    const until = since + Math.min(idle, limit) / 1000;
    while (Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until) {
      for (let i = 0; i < 256 && Atomics.load(ctl, ${SEQ}) === seen; i++);
    }
    Atomics.wait(ctl, ${SEQ}, seen);
    idle = (performance.now() - since) * 1000 < limit ? limit : idle / 2;
    seen = Atomics.load(ctl, ${SEQ});
    if (index >= Atomics.load(ctl, ${ACTIVE})) continue;
    claimChunks(ctl, seen, run);
  }
};
if (typeof require === 'function') start(require('node:worker_threads').workerData);
else self.onmessage = (e) => start(e.data);
`;
