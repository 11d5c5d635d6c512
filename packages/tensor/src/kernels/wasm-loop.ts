import type { DType, TypedArray } from '../dtype.js';
import { type Shape, sizeOf } from '../shape.js';
import { arena, instantiate, memoryShared, pointerOf } from './memory.js';
import { gcd, type RowSplit } from './row-split.js';
import { broadcastStrides } from './strided.js';
import { IN_PLACE_WORK, type Lane, parallel, register, share, splits } from './threads.js';
import {
  type Code,
  f32load,
  f32x4,
  func,
  i32,
  i32c,
  i32x4c,
  iff,
  inc,
  load32Splat,
  select,
  set,
  tee,
  until,
  v128,
  v128load,
  v128store,
  wasmModule,
} from './wasm/emit.js';

/**
 * Fused elementwise loops compiled to WebAssembly SIMD at run time.
 *
 * `compile` fuses chains of elementwise ops into one loop; when every op of
 * such a loop is one that f32x4 computes exactly as JavaScript's float32
 * rounding of it does (add, sub, mul, div, sqrt, abs, neg, relu, comparisons,
 * select: each a correctly rounded single-precision operation), the loop is
 * emitted as a small WebAssembly function working four floats at a time.
 * Optimiser updates (a dozen passes over every weight) are the case this is
 * for. The numbers are the same as the JavaScript loop's, bit for bit.
 */

/**
 * How a loop reads a leaf: whole, one broadcast value, one row repeated, one
 * value per plane (a bias [C, 1, 1] over [N, C, H, W]), or any other
 * broadcast as a cycle of values gathered once per call and read again and
 * again (a batch-norm statistic [C, 1, 1] over planes of 11×11, whose
 * vectors straddle two planes).
 */
export type LeafKind = 'array' | 'scalar' | 'row' | 'plane' | 'cycle';

/** One operation of a fused loop: `name = op(args)`, args naming leaves (`x3`) or earlier results. */
export interface LoopNode {
  readonly name: string;
  readonly op: string;
  readonly args: readonly string[];
  readonly dtype: DType;
}

/** The loop to lower: its nodes in order, its leaves, and which results it stores. */
export interface LoopProgram {
  readonly size: number;
  readonly nodes: readonly LoopNode[];
  /**
   * Extent of the innermost axis: a `row` leaf (a bias, say) repeats every
   * `cols` elements. A multiple of 4 when any leaf is a row.
   */
  readonly cols: number;
  /** Per leaf `x{k}`: read whole (the loop's shape), one broadcast value, or one row repeated. */
  readonly leaves: readonly LeafKind[];
  /**
   * For `plane` leaves: element i of the loop reads value ⌊i / inner⌋ mod
   * period of the leaf; inner a multiple of 4, so a vector lies in one plane.
   */
  readonly plane?: { readonly inner: number; readonly period: number };
  /**
   * For `cycle` leaves, by leaf number: element i of the loop reads element
   * `gather[i mod gather.length]` of the leaf; the length is a multiple of 4.
   */
  readonly cycles?: readonly (Int32Array | undefined)[];
  /** Result names stored, in order: the first to `out`, the rest after the inputs. */
  readonly stores: readonly string[];
  /** The extent of the loop's leading axis: the rows a plan may run it in blocks of. */
  readonly rows?: number;
}

/**
 * A vector constant by its lanes' bits (the same in all four), held in a
 * local set before the loop: V8 builds a v128.const anew wherever it stands,
 * inside the loop on every turn.
 */
type Constant = (bits: number) => Code;
type Lower = (args: Code[], constant: Constant) => Code;
const bitsOf = (x: number) => new Int32Array(new Float32Array([x]).buffer)[0]!;
const ONE = bitsOf(1);
const apply = (
  ops: Record<string, (...args: Code[]) => Code>,
  wrap = (c: Code, _constant: Constant): Code => c,
) =>
  Object.fromEntries(
    Object.entries(ops).map(([name, f]): [string, Lower] => [
      name,
      (args, constant) => wrap(f(...args), constant),
    ]),
  );

/** The comparisons, as f32x4 masks: all-ones lanes where true. */
const masks: Record<string, (a: Code, b: Code) => Code> = {
  eq: f32x4.eq,
  ne: f32x4.ne,
  lt: f32x4.lt,
  le: f32x4.le,
  gt: f32x4.gt,
  ge: f32x4.ge,
};

/** The ops of the table that lower exactly, by name: each f32x4 operation computes it. */
const lowering: Record<string, Lower> = {
  // Sign-bit operations, as f32x4.neg and f32x4.abs are defined (NaN included).
  neg: ([a], constant) => v128.xor(a!, constant(1 << 31)),
  abs: ([a], constant) => v128.and(a!, constant(0x7fffffff)),
  ...apply({
    sqrt: f32x4.sqrt,
    add: f32x4.add,
    sub: f32x4.sub,
    mul: f32x4.mul,
    div: f32x4.div,
  }),
  // A comparison gives all-ones lanes; the ops' expressions give 1.0 or 0.0.
  ...apply(masks, (c, constant) => v128.and(c, constant(ONE))),
  // f32x4.max(x, 0) is Math.max(x, 0) for every float32, ±0, ±∞ and NaN included.
  relu: ([a], constant) => f32x4.max(a!, constant(0)),
  where: ([c, a, b], constant) => v128.bitselect(a!, b!, f32x4.ne(c!, constant(0))),
  cast: ([a]) => a!,
  broadcastTo: ([a]) => a!,
};

/** Whether every op of a loop can be lowered. */
export function lowerable(ops: readonly string[]): boolean {
  return ops.every((o) => o in lowering);
}

/**
 * The module for a loop: one exported function `f(vectors, ptr…)` over the
 * leaves' and stores' byte offsets in the kernels' memory.
 */
function assemble(p: LoopProgram): Uint8Array<ArrayBuffer> {
  const nLeaves = p.leaves.length;
  const nParams = 1 + nLeaves + p.stores.length;
  // Locals after the params: the byte index, the end, the byte offset within
  // a row, the byte offset of the current plane's value and the bytes left in
  // that plane, then one v128 per scalar leaf and per node.
  const idx = nParams;
  const end = nParams + 1;
  const col = nParams + 2;
  const pl = nParams + 3;
  const left = nParams + 4;
  const I32_LOCALS = 5;
  const rowBytes = p.cols * 4;
  // One byte offset within its cycle per cycle leaf.
  const cycleLocal = new Map<number, number>();
  let next = nParams + I32_LOCALS;
  p.leaves.forEach((kind, k) => {
    if (kind === 'cycle') cycleLocal.set(k, next++);
  });
  const i32Locals = next - nParams;
  const scalarLocal = new Map<number, number>();
  p.leaves.forEach((kind, k) => {
    if (kind === 'scalar') scalarLocal.set(k, next++);
  });
  // Where every leaf is read whole or is one value, each whole leaf is loaded
  // once per vector (an optimiser reads the gradient twice) and the loop does
  // two vectors per turn, halving its counting and address arithmetic, which
  // cost as much as the arithmetic of a short loop.
  const flat = p.leaves.every((kind) => kind === 'array' || kind === 'scalar');
  const arrayLocal = new Map<number, number>();
  if (flat) {
    p.leaves.forEach((kind, k) => {
      if (kind === 'array') arrayLocal.set(k, next++);
    });
  }
  const nodeLocal = new Map<string, number>();
  for (const node of p.nodes) nodeLocal.set(node.name, next++);
  const innerBytes = (p.plane?.inner ?? 4) * 4;
  const periodBytes = (p.plane?.period ?? 1) * 4;
  const at = (param: number, offset = idx) => i32.add(param, offset);
  /** local += 16, back to 0 once it reaches `bytes` (select, not a branch). */
  const wrap = (local: number, bytes: number) =>
    set(local, select(i32c(0), tee(local, i32.add(local, i32c(16))), i32.geU(local, i32c(bytes))));

  const constants = new Map<number, number>();
  const constant: Constant = (bits) => {
    const known = constants.get(bits);
    if (known !== undefined) return known;
    constants.set(bits, next);
    return next++;
  };
  // A comparison's local holds its mask: a `where` selects with it as it is,
  // other readers see the 1.0 or 0.0 of the op's expression.
  const maskNodes = new Set(p.nodes.filter((n) => n.op in masks).map((n) => n.name));
  const operand = (arg: string): Code => {
    if (maskNodes.has(arg)) return v128.and(nodeLocal.get(arg)!, constant(ONE));
    const leaf = /^x(\d+)$/.exec(arg);
    if (leaf) {
      const k = Number(leaf[1]);
      const local = scalarLocal.get(k) ?? arrayLocal.get(k);
      if (local !== undefined) return local;
      if (p.leaves[k] === 'plane') return load32Splat(at(1 + k, pl));
      return v128load(at(1 + k, p.leaves[k] === 'row' ? col : (cycleLocal.get(k) ?? idx)));
    }
    return nodeLocal.get(arg)!;
  };
  const lowered = (node: LoopNode): Code => {
    const [c, a, b] = node.args;
    const mask = masks[node.op];
    if (mask) return mask(operand(c!), operand(a!));
    if (node.op === 'where' && maskNodes.has(c!))
      return v128.bitselect(operand(a!), operand(b!), nodeLocal.get(c!)!);
    return lowering[node.op]!(node.args.map(operand), constant);
  };
  /** One vector at byte `offset` past the index, of a flat loop. */
  const vector = (offset: number): Code => [
    [...arrayLocal].map(([k, local]) => set(local, v128load(at(1 + k), offset))),
    p.nodes.map((node) => set(nodeLocal.get(node.name)!, lowered(node))),
    p.stores.map((value, j) => v128store(at(1 + nLeaves + j), operand(value), offset)),
  ];
  // After the loop's code, which asks for the constants.
  const start = () => [
    set(end, i32.shl(0, i32c(4))),
    [...scalarLocal].map(([k, local]) => set(local, f32x4.splat(f32load(1 + k)))),
    [...constants].map(([bits, local]) => set(local, i32x4c(bits, bits, bits, bits))),
  ];
  if (flat) {
    const pairs = col; // the end of the whole pairs of vectors, in bytes
    const loop = [
      set(pairs, i32.and(end, i32c(-32))),
      until(i32.geU(idx, pairs), [vector(0), vector(16), inc(idx, 32)]),
      iff(i32.ltU(idx, end), vector(0)),
    ];
    return module([start(), loop]);
  }
  const loop: Code = [
    set(left, i32c(innerBytes)),
    until(i32.geU(idx, end), [
      p.nodes.map((node) => set(nodeLocal.get(node.name)!, lowered(node))),
      p.stores.map((value, j) => v128store(at(1 + nLeaves + j), operand(value))),
      inc(idx, 16),
      // At a plane's end, the next plane's value (back to the first after the last).
      p.leaves.includes('plane')
        ? iff(i32.eqz(tee(left, i32.sub(left, i32c(16)))), [
            set(left, i32c(innerBytes)),
            iff(i32.eq(tee(pl, i32.add(pl, i32c(4))), i32c(periodBytes)), set(pl, i32c(0))),
          ])
        : [],
      // Each cycle's offset += 16, back to 0 at the end of the cycle, as col at the end of a row.
      [...cycleLocal].map(([k, local]) => wrap(local, p.cycles![k]!.length * 4)),
      p.leaves.includes('row') ? wrap(col, rowBytes) : [],
    ]),
  ];
  return module([start(), loop]);

  function module(code: Code): Uint8Array<ArrayBuffer> {
    const f = func(
      'f',
      'i'.repeat(nParams),
      '',
      `${'i'.repeat(i32Locals)}${'v'.repeat(next - (nParams + i32Locals))}`,
      () => code,
    );
    return wasmModule([f], memoryShared());
  }
}

type LoopKernel = ((out: TypedArray, ins: readonly TypedArray[]) => void) & {
  readonly rows?: RowSplit;
};

let supported: boolean | undefined;

/** Whether this runtime runs WebAssembly SIMD: a module doing one f32x4 add must validate. */
function simdSupported(): boolean {
  if (supported === undefined) {
    try {
      const probe = assemble({
        size: 4,
        cols: 4,
        nodes: [{ name: 't0', op: 'add', args: ['x0', 'x0'], dtype: 'float32' }],
        leaves: ['array'],
        stores: ['t0'],
      });
      supported = typeof WebAssembly === 'object' && WebAssembly.validate(probe);
    } catch {
      supported = false;
    }
  }
  return supported;
}

let copiedCount = 0;

/**
 * Floats the fused loops have copied into or out of the kernels' memory so
 * far: arrays living there (pinned, or a plan's) are worked on in place and
 * add nothing. For tests.
 */
export function loopCopies(): number {
  return copiedCount;
}

/**
 * Elements per pass: every region of a pass stays in L2 instead of the whole
 * operands streaming through memory three times (in, loop, out).
 */
const CHUNK = 16384;

/**
 * The loop as a kernel over typed arrays, or null where WebAssembly SIMD is
 * unavailable. Arrays in the kernels' memory are read and written in place;
 * others are copied in and out a chunk at a time. Big loops are cut across
 * the threads (`cutLoop`).
 */
export function wasmLoop(p: LoopProgram): LoopKernel | null {
  if (!simdSupported()) return null;
  const memory = arena();
  if (!memory) return null;
  // Where SIMD runs, a module that fails to compile is a bug here: let it throw.
  const binary = assemble(p);
  const module = new WebAssembly.Module(binary);
  const instance = instantiate(module);
  const f = instance.exports.f as (...args: number[]) => void;
  // A chunk starts where a row and a cycle of planes start, so that row and
  // plane leaves read from their beginning in every pass.
  let unit = 4;
  if (p.leaves.includes('row')) unit = lcm(unit, p.cols);
  if (p.plane) unit = lcm(unit, p.plane.inner * p.plane.period);
  for (const g of p.cycles ?? []) if (g) unit = lcm(unit, g.length);
  const chunk = unit <= CHUNK ? unit * Math.floor(CHUNK / unit) : p.size;
  const span = Math.min(chunk, Math.ceil(p.size / 4) * 4); // floats per region
  const regions = p.leaves.length + p.stores.length;
  const nLeaves = p.leaves.length;
  const args = Array.from({ length: 1 + regions }, () => 0);
  const whole = p.leaves.map((kind) => kind === 'array');
  /**
   * Per region: the byte offset of an array already in the kernels' memory,
   * read or written there; else −1. Only when whole vectors cover the loop:
   * a last partial one would write past the array.
   */
  const direct = new Float64Array(regions);
  const inPlace = p.size % 4 === 0;
  // Big loops may also run cut across the threads: weighed by elements, and
  // more when every array is in the kernels' memory (no copy on this thread).
  const id = splits(p.size) || p.size >= THREADED_SIZE ? register(module, binary) : null;
  const cut = id === null ? null : cutLoop(p, id, unit, whole);
  // The arrays `direct` was worked out for: a compiled plan passes the same
  // ones on every call, and finding where an array lives costs as much as a
  // small loop. Kept only while every one is in the kernels' memory, so that
  // an eager kernel keeps no big JavaScript array alive.
  let lastOut: TypedArray | null = null;
  const lastIns: (TypedArray | null)[] = new Array(regions - 1).fill(null);
  let allDirect = false;
  const locate = (out: TypedArray, ins: readonly TypedArray[]) => {
    if (out === lastOut) {
      let r = 0;
      while (r < regions - 1 && ins[r] === lastIns[r]) r++;
      if (r === regions - 1) return;
    }
    let all = inPlace;
    for (let r = 0; r < regions; r++) {
      const x = r < nLeaves ? (whole[r] ? ins[r]! : null) : r === nLeaves ? out : ins[r - 1]!;
      direct[r] = x && inPlace ? pointerOf(x) : -1;
      if (x && direct[r]! < 0) all = false;
    }
    allDirect = all;
    lastOut = all ? out : null;
    for (let r = 0; r < regions - 1; r++) lastIns[r] = all ? ins[r]! : null;
  };
  /** Whether every array of the loop is in the kernels' memory (and whole vectors cover it). */
  const placed = (out: TypedArray, ins: readonly TypedArray[]): boolean => {
    locate(out, ins);
    return allDirect;
  };
  const rows =
    inPlace && p.rows !== undefined && p.rows > 0 && p.size % p.rows === 0
      ? loopRows(p, module, binary, unit, whole, placed)
      : undefined;
  const run = (out: TypedArray, ins: readonly TypedArray[]) => {
    if (cut) {
      const work = p.size * (placed(out, ins) ? IN_PLACE_WORK : 1);
      if (splits(work)) {
        cut(out, ins, work);
        return;
      }
    }
    // The arena is every kernel's, laid out from its scratch start by each: reserved per call.
    const s = memory.start;
    const heap = memory.reserve(s + regions * span);
    locate(out, ins);
    for (let r = 0; r < regions; r++) args[1 + r] = (s + r * span) * 4;
    // Broadcast leaves are the same for every pass: in once.
    for (let k = 0; k < nLeaves; k++) {
      const x = ins[k]!;
      const kind = p.leaves[k];
      if (kind === 'scalar') heap[s + k * span] = x[0]!;
      else if (kind === 'cycle') {
        // As much of the cycle as one pass reads.
        const g = p.cycles![k]!;
        const base = s + k * span;
        for (let j = 0, n = Math.min(g.length, span); j < n; j++) heap[base + j] = x[g[j]!]!;
      } else if (!whole[k]) heap.set(x as Float32Array, s + k * span); // one row or a plane's values
    }
    for (let at = 0; at < p.size; at += chunk) {
      const n = Math.min(chunk, p.size - at);
      for (let r = 0; r < regions; r++) if (direct[r]! >= 0) args[1 + r] = direct[r]! + at * 4;
      for (let k = 0; k < nLeaves; k++) {
        if (whole[k] && direct[k]! < 0) {
          heap.set((ins[k] as Float32Array).subarray(at, at + n), s + k * span);
          copiedCount += n;
        }
      }
      args[0] = Math.ceil(n / 4);
      f(...args);
      const o = s + nLeaves * span;
      if (direct[nLeaves]! < 0) {
        out.set(heap.subarray(o, o + n), at);
        copiedCount += n;
      }
      for (let j = 1; j < p.stores.length; j++) {
        if (direct[nLeaves + j]! >= 0) continue;
        const from = s + (nLeaves + j) * span;
        ins[nLeaves + j - 1]!.set(heap.subarray(from, from + n), at);
        copiedCount += n;
      }
    }
  };
  return rows ? Object.assign(run, { rows }) : run;
}

/**
 * The loop as a row-local kernel (row-split.ts): a block of rows is a run
 * of whole units (where rows, planes and cycles start), its arrays read and
 * written in place in the kernels' memory, broadcast leaves laid out once.
 */
function loopRows(
  p: LoopProgram,
  module: WebAssembly.Module,
  binary: Uint8Array,
  unit: number,
  whole: readonly boolean[],
  placed: (out: TypedArray, ins: readonly TypedArray[]) => boolean,
): RowSplit {
  const memory = arena()!;
  const rows = p.rows!;
  const rowSize = p.size / rows;
  const nLeaves = p.leaves.length;
  const regions = nLeaves + p.stores.length;
  const full = Math.ceil(p.size / 4) * 4;
  /** Per region: the byte offset of its element 0, in place or (a broadcast leaf) in scratch. */
  const base = new Float64Array(regions);
  const args = Array.from({ length: 1 + regions }, () => 0);
  // Registered on first use: a loop too small to split on its own is made callable by the workers only when a chain runs it.
  let id: number | null | undefined;
  return {
    rows,
    align: unit / gcd(unit, rowSize),
    rowInputs: p.leaves.flatMap((_, k) => (whole[k] ? [k] : [])),
    outInputs: Array.from({ length: p.stores.length - 1 }, (_, j) => nLeaves + j),
    bound: p.size * IN_PLACE_WORK,
    work: (out, ins) => (placed(out, ins) ? p.size * IN_PLACE_WORK : 0),
    prepare(out, ins, at) {
      id ??= register(module, binary);
      if (id === null) return -1;
      let next = at;
      for (let r = 0; r < regions; r++) {
        const x = r < nLeaves ? ins[r]! : r === nLeaves ? out : ins[r - 1]!;
        if (r >= nLeaves || whole[r]) {
          base[r] = pointerOf(x);
          continue;
        }
        const cycle = p.cycles?.[r];
        const size = Math.ceil((cycle ? Math.min(cycle.length, full) : x.length) / 4) * 4;
        const heap = memory.reserve(next + size);
        if (p.leaves[r] === 'scalar') heap[next] = x[0]!;
        else if (cycle) {
          for (let j = 0, n = Math.min(cycle.length, full); j < n; j++)
            heap[next + j] = x[cycle[j]!]!;
        } else heap.set(x as Float32Array, next);
        base[r] = next * 4;
        next += size;
      }
      return next;
    },
    part(lane, r0, r1) {
      const a = r0 * rowSize;
      args[0] = Math.ceil((r1 * rowSize - a) / 4);
      for (let r = 0; r < regions; r++) {
        args[1 + r] = r < nLeaves && !whole[r] ? base[r]! : base[r]! + a * 4;
      }
      lane.call(id!, ...args);
    },
  };
}

/** Loops of at least this many elements are made ready to run on the threads. */
const THREADED_SIZE = 1 << 17;

/**
 * The loop cut across the threads: parts take runs of whole units (where
 * rows, planes and cycles start). Arrays in the kernels' memory (a compiled
 * plan's) are read and written in place; each other array has a region
 * holding all of it, a part copying its run in and its results out as it
 * finishes. Each element is computed as on one thread: the same bits.
 */
function cutLoop(
  p: LoopProgram,
  id: number,
  unit: number,
  whole: readonly boolean[],
): (out: TypedArray, ins: readonly TypedArray[], work: number) => void {
  const memory = arena()!;
  const full = Math.ceil(p.size / 4) * 4;
  const units = Math.ceil(p.size / unit);
  const nLeaves = p.leaves.length;
  const regions = nLeaves + p.stores.length;
  const inPlace = p.size % 4 === 0;
  const span = (t: number, parts: number): [number, number] => {
    const [u0, u1] = share(units, t, parts);
    return [u0 * unit, Math.min(u1 * unit, p.size)];
  };
  /** Per region: its array, and the byte offset of its element 0 (in place or in scratch). */
  const arrays: (TypedArray | null)[] = new Array(regions).fill(null);
  const base = new Float64Array(regions);
  const copied = new Uint8Array(regions);
  let heap = memory.f32;
  const part = (lane: Lane, t: number, parts: number) => {
    const [a, b] = span(t, parts);
    if (a >= b) return;
    const args = [Math.ceil((b - a) / 4)];
    for (let r = 0; r < regions; r++) {
      if (r < nLeaves && !whole[r]) {
        args.push(base[r]!); // a broadcast leaf: read from its start
        continue;
      }
      if (r < nLeaves && copied[r]) {
        heap.set((arrays[r] as Float32Array).subarray(a, b), base[r]! / 4 + a);
        copiedCount += b - a;
      }
      args.push(base[r]! + a * 4);
    }
    lane.call(id, ...args);
  };
  const collect = (t: number, parts: number) => {
    const [a, b] = span(t, parts);
    for (let r = nLeaves; r < regions; r++) {
      if (copied[r] && a < b) {
        arrays[r]!.set(heap.subarray(base[r]! / 4 + a, base[r]! / 4 + b), a);
        copiedCount += b - a;
      }
    }
  };
  return (out, ins, work) => {
    // Scratch regions, from the scratch start, only for what is not in place.
    let next = memory.start;
    let copyOut = false;
    for (let r = 0; r < regions; r++) {
      const x = r < nLeaves ? ins[r]! : r === nLeaves ? out : ins[r - 1]!;
      arrays[r] = x;
      const broadcast = r < nLeaves && !whole[r];
      const at = broadcast || !inPlace ? -1 : pointerOf(x);
      copied[r] = at < 0 ? 1 : 0;
      base[r] = at < 0 ? next * 4 : at;
      if (at < 0) {
        const cycle = p.cycles?.[r];
        next += broadcast
          ? Math.ceil((cycle ? Math.min(cycle.length, full) : x.length) / 4) * 4
          : full;
      }
      if (at < 0 && r >= nLeaves) copyOut = true;
    }
    heap = memory.reserve(next);
    // Broadcast leaves are the same for every part: in once.
    for (let k = 0; k < nLeaves; k++) {
      const x = ins[k]!;
      const kind = p.leaves[k];
      const at = base[k]! / 4;
      if (kind === 'scalar') heap[at] = x[0]!;
      else if (kind === 'cycle') {
        const g = p.cycles![k]!;
        for (let j = 0, n = Math.min(g.length, full); j < n; j++) heap[at + j] = x[g[j]!]!;
      } else if (!whole[k]) heap.set(x as Float32Array, at);
    }
    try {
      parallel(work, part, copyOut ? collect : undefined);
    } finally {
      arrays.fill(null); // keeps no caller's array alive
    }
  };
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** Below this many elements the copies in and out and the call cost more than SIMD saves. */
export const MIN_SIZE = 64;

/**
 * The program of a loop over `shape` whose leaves have `leafShapes`, when
 * it is worth running as SIMD and can be: every node float32 and lowerable,
 * every leaf read whole, one broadcast value, one row repeated or one value
 * per plane; else null.
 */
export function loopProgram(
  shape: Shape,
  leafShapes: readonly Shape[],
  nodes: readonly LoopNode[],
  stores: readonly string[],
): LoopProgram | null {
  const size = sizeOf(shape);
  if (size < MIN_SIZE) return null;
  if (!nodes.every((n) => n.dtype === 'float32') || !lowerable(nodes.map((n) => n.op))) {
    return null;
  }
  const cols = shape.at(-1) ?? 1;
  const isRow = (s: Shape) =>
    cols % 4 === 0 && sizeOf(s) === cols && s.at(-1) === cols && s.length <= shape.length;
  const same = (s: Shape) => s.length === shape.length && s.every((n, d) => n === shape[d]);
  const leaves: LeafKind[] = [];
  const cycles: (Int32Array | undefined)[] = [];
  let plane: { inner: number; period: number } | undefined;
  for (const l of leafShapes) {
    if (same(l)) leaves.push('array');
    else if (sizeOf(l) === 1) leaves.push('scalar');
    else if (isRow(l)) leaves.push('row');
    else {
      const p = planeOf(l, shape);
      if (p && (!plane || (plane.inner === p.inner && plane.period === p.period))) {
        plane = p;
        leaves.push('plane');
      } else {
        const g = cycleOf(l, shape);
        if (!g) return null;
        cycles[leaves.length] = g;
        leaves.push('cycle');
      }
    }
  }
  return {
    size,
    rows: shape[0] ?? 1,
    cols: leaves.includes('row') ? cols : size,
    nodes,
    leaves,
    stores,
    ...(plane ? { plane } : {}),
    ...(leaves.includes('cycle') ? { cycles } : {}),
  };
}

/** The longest cycle a leaf may be gathered into, in floats. */
const MAX_CYCLE = 1 << 16;

/**
 * A broadcast leaf as a cycle: the values element i of the loop reads repeat
 * every P elements, P the extent of the axes from the first along which the
 * leaf varies; the cycle is P rounded up to whole vectors (lcm(P, 4)), as
 * indices into the leaf. Null when the cycle would be long (over MAX_CYCLE)
 * or not repeat at least twice: then the gather is no cheaper than the loop.
 */
function cycleOf(leaf: Shape, shape: Shape): Int32Array | null {
  const strides = broadcastStrides(leaf, shape);
  const a = strides.findIndex((s) => s !== 0);
  if (a < 0) return null;
  const inner = shape.slice(a);
  const period = sizeOf(inner);
  const length = lcm(period, 4);
  if (length > MAX_CYCLE || 2 * length > sizeOf(shape)) return null;
  const g = new Int32Array(length);
  const at = strides.slice(a);
  for (let j = 0; j < length; j++) {
    let rest = j % period;
    let index = 0;
    for (let d = inner.length - 1; d >= 0; d--) {
      const n = inner[d]!;
      index += (rest % n) * at[d]!;
      rest = Math.floor(rest / n);
    }
    g[j] = index;
  }
  return g;
}

/**
 * A leaf broadcast as one value per plane: its shape, aligned right, equals
 * the loop's on a run of axes and is 1 on the axes after it (and before it),
 * so element i reads value ⌊i / inner⌋ mod period. A bias [C, 1, 1] over
 * [N, C, H, W] is inner H·W, period C. Inner must hold whole vectors.
 */
function planeOf(leaf: Shape, shape: Shape): { inner: number; period: number } | null {
  const at = shape.length - leaf.length;
  if (at < 0) return null;
  let b = shape.length;
  while (b > at && leaf[b - 1 - at] === 1) b--;
  let a = b;
  while (a > at && leaf[a - 1 - at] === shape[a - 1]) a--;
  for (let d = at; d < a; d++) if (leaf[d - at] !== 1) return null;
  const inner = sizeOf(shape.slice(b));
  const period = sizeOf(shape.slice(a, b));
  return inner % 4 === 0 && inner > 1 ? { inner, period } : null;
}
