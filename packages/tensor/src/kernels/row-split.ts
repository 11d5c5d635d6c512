import type { TypedArray } from '../dtype.js';
import { arena } from './memory.js';
import { getThreads, type Lane, maxParts, parallel, share, splits } from './threads.js';

/**
 * Row-local kernels, and chains of them run as one job.
 *
 * A kernel is row-local when row r of its output (the leading axis) is
 * computed from row r of some inputs and the whole of the others: a layer's
 * product against its weights, a bias and activation loop, an argmax over
 * the last axis. A chain of such steps over the same rows, each reading the
 * rows the one before wrote, can run with each thread taking a block of
 * rows through the whole chain: one fork and join for the chain instead of
 * one per step, and every step cut, however small. Each row is computed by
 * the same calls whichever block it falls in, so results are the same bits
 * for every thread count (and as each kernel's own path gives).
 */
export interface RowSplit {
  /** Rows of the output: its leading extent. */
  readonly rows: number;
  /** Blocks start at multiples of this many rows. */
  readonly align: number;
  /** Inputs of which each row of the output reads that row only; the others are read whole. */
  readonly rowInputs: readonly number[];
  /** Inputs written too (a loop's further results), row by row. */
  readonly outInputs: readonly number[];
  /** The most work `work` can return, known from the shapes alone. */
  readonly bound: number;
  /**
   * The work over these arrays, weighed as `parallel` weighs it, or 0 when
   * the kernel cannot run in blocks over them (an array outside the
   * kernels' memory that it cannot copy): then the chain runs as it is.
   */
  work(out: TypedArray, ins: readonly TypedArray[]): number;
  /**
   * Lays out what every block reads whole (packed weights, broadcast
   * values) in the scratch region from float `at`, on this thread before
   * the job, for `parts` blocks at most; returns where its region ends, or
   * −1 when it cannot run in blocks over these values (a weight that is not
   * finite, for a zero-skipping product): then the chain runs as it is.
   */
  prepare(out: TypedArray, ins: readonly TypedArray[], at: number, parts: number): number;
  /** Records the calls computing rows [r0, r1) as block t (called on this thread). */
  part(lane: Lane, r0: number, r1: number, t: number): void;
  /** After the job, on this thread: copies results out of scratch. */
  finish?(): void;
}

/** One kernel call of a plan. */
export interface RowStep {
  kernel: ((out: TypedArray, ins: readonly TypedArray[]) => void) & { readonly rows?: RowSplit };
  out: TypedArray;
  ins: TypedArray[];
}

/** The greatest common divisor: blocks of rows start where every step's units do. */
export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return x;
}

/**
 * Runs a chain of row-local steps over the same rows, in order: as one job
 * cut into blocks of rows when there are threads and the chain's work is
 * big enough to split, else step by step, as a plan runs any other step.
 * From a step that cannot run in blocks over its arrays (a result handed
 * back to the caller, outside the kernels' memory) the chain runs step by
 * step after the job of those before it.
 */
export function runRowChain(steps: readonly RowStep[]): void {
  const ran = getThreads() > 1 ? splitChain(steps) : 0;
  for (let i = ran; i < steps.length; i++) steps[i]!.kernel(steps[i]!.out, steps[i]!.ins);
}

let chainJobs = 0;

/** Chains run as one job so far: tests check that a plan ran its steps that way. */
export function rowChainJobs(): number {
  return chainJobs;
}

/** Runs the steps that can as one job; returns how many it ran (0: none). */
function splitChain(steps: readonly RowStep[]): number {
  // Most calls of a small chain (a training step's batch of 64) find it too
  // small to split: the bounds of the steps not yet weighed stop that early.
  let rest = 0;
  for (const s of steps) rest += s.kernel.rows!.bound;
  if (!splits(rest)) return 0;
  let work = 0;
  let align = 1;
  let count = 0;
  for (const { kernel, out, ins } of steps) {
    const w = kernel.rows!.work(out, ins);
    if (!(w > 0)) break;
    work += w;
    rest -= kernel.rows!.bound;
    if (!splits(work + rest)) return 0;
    const a = kernel.rows!.align;
    align = (align / gcd(align, a)) * a;
    count++;
  }
  const memory = arena();
  if (!splits(work) || !memory) return 0;
  const run = steps.slice(0, count);
  const parts = maxParts();
  let at = memory.start;
  for (const { kernel, out, ins } of run) {
    at = kernel.rows!.prepare(out, ins, at, parts);
    if (at < 0) return 0;
  }
  const rows = steps[0]!.kernel.rows!.rows;
  const units = Math.ceil(rows / align);
  parallel(work, (lane, t, n) => {
    const [u0, u1] = share(units, t, n);
    const r0 = u0 * align;
    const r1 = Math.min(u1 * align, rows);
    if (r0 >= r1) return;
    for (const s of run) s.kernel.rows!.part(lane, r0, r1, t);
  });
  for (const s of run) s.kernel.rows!.finish?.();
  chainJobs++;
  return count;
}
