import { arena, instantiate, memoryShared } from './memory.js';
import {
  type Code,
  f32,
  f32c,
  f32store,
  f32x4,
  func,
  get,
  i16x8,
  i32,
  i32c,
  i32load,
  i32load8U,
  i32store8,
  i32x4,
  inc,
  memoryCopy,
  set,
  until,
  v128load,
  v128store,
  wasmModule,
} from './wasm/emit.js';

/**
 * Row gathers for batching: rows picked by index from an array in the
 * kernels' memory, written one after another into another. A data loader
 * reads a batch of random rows of a data set this way; in JavaScript each
 * row is a `TypedArray.set` (or, for bytes scaled to floats, a loop through
 * a table), which costs more than the copy itself.
 */

/** Bytes of a cache line: the touch pass reads one byte of each. */
const LINE = 64;

/**
 * Reads one byte of every cache line of rows idx[0 .. end) and stores their
 * sum in the first byte of dst (which the gather then overwrites). The rows
 * of a batch are scattered over a data set far larger than the caches; read
 * one after another, each row's misses wait for the last row's. Touched all
 * at once first, their misses overlap (MNIST, 64 random rows of 784 bytes:
 * 23 µs a batch without this pass, 13 µs with it). WebAssembly has no
 * prefetch instruction, and an engine keeps a load whose value is stored.
 */
function touchRows(
  src: number,
  rowBytes: number,
  idx: number,
  end: number,
  dst: number,
  p: number,
  from: number,
  stop: number,
  sum: number,
): Code {
  return [
    set(p, get(idx)),
    until(i32.geU(get(p), get(end)), [
      set(from, i32.add(get(src), i32.mul(i32load(get(p)), get(rowBytes)))),
      set(stop, i32.add(get(from), get(rowBytes))),
      until(i32.geU(get(from), get(stop)), [
        set(sum, i32.add(get(sum), i32load8U(get(from)))),
        inc(from, LINE),
      ]),
      inc(p, 4),
    ]),
    i32store8(get(dst), get(sum)),
  ];
}

/**
 * copy(src, rowBytes, idx, n, dst): rows idx[0 .. n) of `rowBytes` bytes from
 * src to dst, back to back, one `memory.copy` each.
 */
const copyFunction = func(
  'copy',
  'iiiii',
  '',
  'iiiii',
  (src, rowBytes, idx, n, dst, end, p, from, stop, sum) => [
    set(end!, i32.add(get(idx!), i32.shl(get(n!), i32c(2)))),
    touchRows(src!, rowBytes!, idx!, end!, dst!, p!, from!, stop!, sum!),
    until(i32.geU(get(idx!), get(end!)), [
      memoryCopy(
        get(dst!),
        i32.add(get(src!), i32.mul(i32load(get(idx!)), get(rowBytes!))),
        get(rowBytes!),
      ),
      set(dst!, i32.add(get(dst!), get(rowBytes!))),
      inc(idx!, 4),
    ]),
  ],
);

/**
 * bytes(src, row, idx, n, dst): rows idx[0 .. n) of `row` bytes from src,
 * each byte b written to dst as the float32 b / 255. The quotient is one
 * float32 division of the exact b by 255: correctly rounded, so it equals
 * `Math.fround(b / 255)` (a float64 quotient rounded again) for every byte,
 * since no b / 255 lies near enough a float32 tie for the double rounding to
 * differ (the tests check all 256). Sixteen bytes a step, then one at a
 * time. (A multiply by 1/255 is faster and wrong for 126 of the 256 bytes;
 * building b / 255 from the byte repeated four times as an integer, which
 * is exact, measured slower than the division.)
 */
const bytesFunction = func(
  'bytes',
  'iiiii',
  '',
  'iiiiiiivvv',
  (src, row, idx, n, dst, end, from, stop, tail, at, p, sum, v, half, scale) => {
    const toFloats = (quarter: Code, offset: number): Code =>
      v128store(get(at!), f32x4.div(f32x4.convertI32x4S(quarter), get(scale!)), offset);
    return [
      set(end!, i32.add(get(idx!), i32.shl(get(n!), i32c(2)))),
      touchRows(src!, row!, idx!, end!, dst!, p!, from!, stop!, sum!),
      set(scale!, f32x4.splat(f32c(255))),
      until(i32.geU(get(idx!), get(end!)), [
        set(from!, i32.add(get(src!), i32.mul(i32load(get(idx!)), get(row!)))),
        set(tail!, i32.add(get(from!), get(row!))),
        // The end of the row's last whole 16 bytes: the vector loop reads no byte past the row.
        set(stop!, i32.sub(get(tail!), i32.and(get(row!), i32c(15)))),
        set(at!, get(dst!)),
        until(i32.geU(get(from!), get(stop!)), [
          set(v!, v128load(get(from!))),
          set(half!, i16x8.extendLowI8x16U(get(v!))),
          toFloats(i32x4.extendLowI16x8U(get(half!)), 0),
          toFloats(i32x4.extendHighI16x8U(get(half!)), 16),
          set(half!, i16x8.extendHighI8x16U(get(v!))),
          toFloats(i32x4.extendLowI16x8U(get(half!)), 32),
          toFloats(i32x4.extendHighI16x8U(get(half!)), 48),
          inc(from!, 16),
          inc(at!, 64),
        ]),
        until(i32.geU(get(from!), get(tail!)), [
          f32store(get(at!), f32.div(f32.convertI32S(i32load8U(get(from!))), f32c(255))),
          inc(from!, 1),
          inc(at!, 4),
        ]),
        set(dst!, i32.add(get(dst!), i32.shl(get(row!), i32c(2)))),
        inc(idx!, 4),
      ]),
    ];
  },
);

/** The row kernels' exports: byte offsets in the kernels' memory, `n` ≥ 1 rows. */
export interface RowKernels {
  copy(src: number, rowBytes: number, idx: number, n: number, dst: number): void;
  bytes(src: number, row: number, idx: number, n: number, dst: number): void;
}

let kernels: RowKernels | null | undefined;

/**
 * The row kernels over the kernels' memory, made on first use; null without
 * WebAssembly or SIMD, where the callers' JavaScript runs instead. They run
 * on the calling thread: a batch of 64 MNIST images is 50 KB read and
 * 200 KB written, about 13 µs, too little to gain from handing half of it
 * to a worker.
 */
export function rowKernels(): RowKernels | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  if (!arena()) return kernels;
  try {
    const binary = wasmModule([copyFunction, bytesFunction], memoryShared());
    kernels = instantiate(new WebAssembly.Module(binary)).exports as unknown as RowKernels;
  } catch {}
  return kernels;
}
