import type { DType, TypedArray } from '../dtype.js';
import { type Shape, sizeOf } from '../shape.js';
import { arena, instantiate, MAX_PAGES, memoryShared, pointerOf } from './memory.js';
import { broadcastStrides } from './strided.js';

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
}

const V128 = 0x7b;
const LOAD32_SPLAT = 0x09;
const I32 = 0x7f;
const SIMD = 0xfd;

/** f32x4 opcodes by operation, and how each op of the table lowers to them. */
const simd = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  splat: 0x13,
  eq: 0x41,
  ne: 0x42,
  lt: 0x43,
  gt: 0x44,
  le: 0x45,
  ge: 0x46,
  and: 0x4e,
  bitselect: 0x52,
  abs: 0xe0,
  neg: 0xe1,
  sqrt: 0xe3,
  add: 0xe4,
  sub: 0xe5,
  mul: 0xe6,
  div: 0xe7,
  max: 0xe9,
} as const;

type Emit = (args: number[][], out: number[]) => void;

const op = (code: number): number[] => [SIMD, ...uleb(code)];
const unary =
  (code: number): Emit =>
  ([a], out) =>
    out.push(...a!, ...op(code));
const binary =
  (code: number): Emit =>
  ([a, b], out) =>
    out.push(...a!, ...b!, ...op(code));
const f32x4Const = (v: number): number[] => {
  const bytes = new Uint8Array(new Float32Array([v, v, v, v]).buffer);
  return [...op(simd.const), ...bytes];
};
/** A comparison gives all-ones lanes; the ops' expressions give 1.0 or 0.0. */
const compare =
  (code: number): Emit =>
  ([a, b], out) =>
    out.push(...a!, ...b!, ...op(code), ...f32x4Const(1), ...op(simd.and));

/** The ops of the table that lower exactly, by name. */
const lowering: Record<string, Emit> = {
  neg: unary(simd.neg),
  abs: unary(simd.abs),
  sqrt: unary(simd.sqrt),
  // f32x4.max(x, 0) is Math.max(x, 0) for every float32, ±0, ±∞ and NaN included.
  relu: ([a], out) => out.push(...a!, ...f32x4Const(0), ...op(simd.max)),
  add: binary(simd.add),
  sub: binary(simd.sub),
  mul: binary(simd.mul),
  div: binary(simd.div),
  eq: compare(simd.eq),
  ne: compare(simd.ne),
  lt: compare(simd.lt),
  le: compare(simd.le),
  gt: compare(simd.gt),
  ge: compare(simd.ge),
  where: ([c, a, b], out) =>
    out.push(...a!, ...b!, ...c!, ...f32x4Const(0), ...op(simd.ne), ...op(simd.bitselect)),
  cast: ([a], out) => out.push(...a!),
  broadcastTo: ([a], out) => out.push(...a!),
};

/** Whether every op of a loop can be lowered. */
export function lowerable(ops: readonly string[]): boolean {
  return ops.every((o) => o in lowering);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

/**
 * The module for a loop: one exported function `f(vectors, ptr…)` over the
 * leaves' and stores' byte offsets in its exported memory.
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
  const nodeLocal = new Map<string, number>();
  for (const node of p.nodes) nodeLocal.set(node.name, next++);
  const v128Locals = next - (nParams + i32Locals);
  const innerBytes = (p.plane?.inner ?? 4) * 4;
  const periodBytes = (p.plane?.period ?? 1) * 4;

  const get = (i: number) => [0x20, ...uleb(i)];
  const set = (i: number) => [0x21, ...uleb(i)];
  const memarg = (align: number) => [...uleb(align), 0];
  const address = (param: number, at = idx) => [...get(param), ...get(at), 0x6a]; // ptr + at

  const body: number[] = [];
  body.push(...get(0), 0x41, ...sleb(4), 0x74, ...set(end)); // end = vectors << 4
  for (const [k, local] of scalarLocal) {
    body.push(...get(1 + k), 0x2a, ...memarg(2), ...op(simd.splat), ...set(local)); // f32.load, splat
  }
  body.push(0x41, ...sleb(innerBytes), ...set(left)); // left = bytes of a plane
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(...get(idx), ...get(end), 0x4f, 0x0d, 1); // br_if 1 when idx >= end
  const operand = (arg: string): number[] => {
    const leaf = /^x(\d+)$/.exec(arg);
    if (leaf) {
      const k = Number(leaf[1]);
      const local = scalarLocal.get(k);
      if (local !== undefined) return get(local);
      if (p.leaves[k] === 'plane') {
        return [...address(1 + k, pl), ...op(LOAD32_SPLAT), ...memarg(2)];
      }
      const at = p.leaves[k] === 'row' ? col : (cycleLocal.get(k) ?? idx);
      return [...address(1 + k, at), ...op(simd.load), ...memarg(4)];
    }
    return get(nodeLocal.get(arg)!);
  };
  for (const node of p.nodes) {
    lowering[node.op]!(node.args.map(operand), body);
    body.push(...set(nodeLocal.get(node.name)!));
  }
  p.stores.forEach((value, j) => {
    body.push(...address(1 + nLeaves + j), ...operand(value), ...op(simd.store), ...memarg(4));
  });
  body.push(...get(idx), 0x41, ...sleb(16), 0x6a, ...set(idx)); // idx += 16
  if (p.leaves.includes('plane')) {
    // left -= 16; at a plane's end, the next value (back to the first after the last).
    body.push(...get(left), 0x41, ...sleb(16), 0x6b, 0x22, ...uleb(left), 0x45, 0x04, 0x40);
    body.push(0x41, ...sleb(innerBytes), ...set(left));
    body.push(...get(pl), 0x41, ...sleb(4), 0x6a, 0x22, ...uleb(pl));
    body.push(0x41, ...sleb(periodBytes), 0x46, 0x04, 0x40, 0x41, 0, ...set(pl), 0x0b, 0x0b);
  }
  for (const [k, local] of cycleLocal) {
    // cycle offset += 16, back to 0 at the end of the cycle (as col below)
    const bytes = p.cycles![k]!.length * 4;
    body.push(0x41, 0, ...get(local), 0x41, ...sleb(16), 0x6a, 0x22, ...uleb(local));
    body.push(...get(local), 0x41, ...sleb(bytes), 0x4f, 0x1b, ...set(local));
  }
  // col += 16, back to 0 at the end of a row (select, not a branch)
  body.push(0x41, 0, ...get(col), 0x41, ...sleb(16), 0x6a, 0x22, ...uleb(col)); // 0, col + 16 (tee)
  body.push(...get(col), 0x41, ...sleb(rowBytes), 0x4f, 0x1b, ...set(col), 0x0c, 0); // select; br 0
  body.push(0x0b, 0x0b, 0x0b); // end loop, end block, end function

  const locals = vec([
    [...uleb(i32Locals), I32],
    [...uleb(v128Locals), V128],
  ]);
  const code = [...locals, ...body];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(Array.from({ length: nParams }, () => [I32])), 0]])),
    // The kernels' one memory (memory.ts): limits flag 3 is shared with a maximum, 1 plain.
    ...section(
      2,
      vec([
        [...name('env'), ...name('memory'), 0x02, memoryShared() ? 3 : 1, 1, ...uleb(MAX_PAGES)],
      ]),
    ),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('f'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  return Uint8Array.from(bytes);
}

type LoopKernel = (out: TypedArray, ins: readonly TypedArray[]) => void;

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

/**
 * Elements per pass: every region of a pass stays in L2 instead of the whole
 * operands streaming through memory three times (in, loop, out).
 */
const CHUNK = 16384;

/**
 * The loop as a kernel over JavaScript buffers (copied in and out of the
 * module's memory a chunk at a time), or null where WebAssembly SIMD is
 * unavailable.
 */
export function wasmLoop(p: LoopProgram): LoopKernel | null {
  if (!simdSupported()) return null;
  const memory = arena();
  if (!memory) return null;
  // Where SIMD runs, a module that fails to compile is a bug here: let it throw.
  const instance = instantiate(new WebAssembly.Module(assemble(p)));
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
  const direct = new Int32Array(regions);
  const inPlace = p.size % 4 === 0;
  return (out, ins) => {
    // The arena is every kernel's, laid out from its scratch start by each: reserved per call.
    const s = memory.start;
    const heap = memory.reserve(s + regions * span);
    for (let r = 0; r < regions; r++) {
      args[1 + r] = (s + r * span) * 4;
      const x = r < nLeaves ? (whole[r] ? ins[r]! : null) : r === nLeaves ? out : ins[r - 1]!;
      direct[r] = x && inPlace ? pointerOf(x) : -1;
    }
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
        }
      }
      args[0] = Math.ceil(n / 4);
      f(...args);
      const o = s + nLeaves * span;
      if (direct[nLeaves]! < 0) out.set(heap.subarray(o, o + n), at);
      for (let j = 1; j < p.stores.length; j++) {
        if (direct[nLeaves + j]! >= 0) continue;
        const from = s + (nLeaves + j) * span;
        ins[nLeaves + j - 1]!.set(heap.subarray(from, from + n), at);
      }
    }
  };
}

function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** Below this many elements the copies in and out and the call cost more than SIMD saves. */
export const MIN_SIZE = 1024;

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
