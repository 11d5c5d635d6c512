import { arena, pointerOf } from './memory.js';
import type { RowSplit } from './row-split.js';
import { IN_PLACE_WORK, onceRegistered, registerFunction } from './threads.js';
import {
  f32,
  f32load,
  func,
  get,
  i32,
  i32c,
  i32store,
  inc,
  select,
  set,
  until,
} from './wasm/emit.js';

/**
 * f(src, lines, n, dst): for each of `lines` runs of n float32 values from
 * src, the index of the largest into dst (int32), as argmax's JavaScript
 * loop picks it: the first of equal values, and the first NaN over any
 * number (f32.gt and f32.ne are JavaScript's comparisons of float32 values).
 */
function argmaxFunction() {
  return func(
    'f',
    'iiii',
    '',
    'iiiiff',
    (src, lines, n, dst, line, k, best, take, bestValue, v) => [
      until(i32.geU(get(line!), get(lines!)), [
        set(best!, i32c(0)),
        set(bestValue!, f32load(get(src!))),
        set(k!, i32c(1)),
        until(i32.geU(get(k!), get(n!)), [
          set(v!, f32load(i32.add(get(src!), i32.shl(get(k!), i32c(2))))),
          set(
            take!,
            i32.or(
              f32.gt(get(v!), get(bestValue!)),
              i32.and(f32.ne(get(v!), get(v!)), f32.eq(get(bestValue!), get(bestValue!))),
            ),
          ),
          set(best!, select(get(k!), get(best!), get(take!))),
          set(bestValue!, select(get(v!), get(bestValue!), get(take!))),
          inc(k!, 1),
        ]),
        i32store(get(dst!), get(best!)),
        inc(dst!, 4),
        set(src!, i32.add(get(src!), i32.shl(get(n!), i32c(2)))),
        inc(line!, 1),
      ]),
    ],
  );
}

/** The number `register` gave the function, or null where workers cannot run it. */
const argmaxId = onceRegistered(() => (arena() ? registerFunction(argmaxFunction()) : null));

/**
 * argmax over the last axis (n values a line, `lines` lines per row of the
 * leading `rows`) of a float32 tensor in the kernels' memory, as a
 * row-local kernel (row-split.ts): blocks of rows on any thread, each index
 * as the JavaScript kernel gives it. A result outside the kernels' memory
 * (a plan's returned array) is written to scratch and copied out after.
 */
export function argmaxRows(rows: number, lines: number, n: number): RowSplit {
  let px = 0;
  let po = 0;
  let out: Int32Array | null = null;
  let scratch = 0;
  return {
    rows,
    align: 1,
    rowInputs: [0],
    outInputs: [],
    bound: rows * lines * n * IN_PLACE_WORK,
    work: (o, [x]) =>
      o instanceof Int32Array && x instanceof Float32Array && pointerOf(x) >= 0
        ? rows * lines * n * IN_PLACE_WORK
        : 0,
    prepare(o, [x], at) {
      if (argmaxId() === null) return -1;
      px = pointerOf(x!);
      po = pointerOf(o);
      out = po < 0 ? (o as Int32Array) : null;
      if (!out) return at;
      arena()!.reserve(at + rows * lines);
      scratch = at * 4;
      po = scratch;
      return at + rows * lines;
    },
    part(lane, r0, r1) {
      const first = r0 * lines;
      lane.call(argmaxId()!, px + first * n * 4, (r1 - r0) * lines, n, po + first * 4);
    },
    finish() {
      if (!out) return;
      const memory = arena()!.reserve(0);
      out.set(new Int32Array(memory.buffer, scratch, out.length));
      out = null;
    },
  };
}
