import { arena, pointerOf } from './memory.js';
import {
  getThreads,
  IN_PLACE_WORK,
  onceRegistered,
  parallel,
  registerFunction,
  share,
  splits,
} from './threads.js';
import {
  type Code,
  f64x2,
  func,
  get,
  i32,
  i32c,
  inc,
  load32Lane,
  load32Zero,
  set,
  until,
  v128c,
  v128store,
} from './wasm/emit.js';

/**
 * Sums around a kept block of axes (a conv bias's gradient, batch-norm
 * statistics: [N, C, H, W] to [1, C, 1, 1]) on the threads, for float32
 * input already in the kernels' memory (a compiled plan's arena): each
 * output channel is a float64 sum of its values in input order, as
 * `sum`'s JavaScript kernel adds them, so the bits are the same. Channels
 * are independent, so they are cut across the threads by runs of up to 8
 * (fewer when there are few channels); a call keeps up to eight channels'
 * sums (four f64x2 vectors) going at once.
 */

/** Values below which JavaScript's loop beats the call into WebAssembly. */
const MIN_WASM = 4096;

/** Channels a call sums: four f64x2 vectors of two. */
const GROUP = 8;

/**
 * f(x, outer, mid, inner, m, out): the sums of `lanes` channels from m
 * (1 to 8) over `outer` runs of `inner` floats, mid channels a run apart,
 * as float64 at out + 8·m (a last odd channel writes one float64 of junk
 * after its sum).
 */
function sumFunction(lanes: number) {
  const vectors = Math.ceil(lanes / 2);
  return func('f', 'iiiiii', '', `iiii${'i'.repeat(lanes)}${'v'.repeat(vectors)}`, (...at) => {
    const [x, outer, mid, inner, m, out, p, q, end, row] = at as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    // Byte offsets of channel c's value from channel 0's, and the sums.
    const off = at.slice(10, 10 + lanes);
    const acc = at.slice(10 + lanes);
    const body: Code[] = [
      off.map((o, c) => set(o, i32.mul(get(inner), i32c(4 * c)))),
      acc.map((a) => set(a, v128c(0))),
    ];
    body.push(
      set(p, i32c(0)),
      until(i32.geU(get(p), get(outer)), [
        // q = x + ((p·mid + m)·inner)·4: the first channel's run in image p
        set(
          q,
          i32.add(
            get(x),
            i32.shl(i32.mul(i32.add(i32.mul(get(p), get(mid)), get(m)), get(inner)), i32c(2)),
          ),
        ),
        set(end, i32.add(get(q), i32.shl(get(inner), i32c(2)))),
        until(
          i32.geU(get(q), get(end)),
          acc.map((a, k) => {
            const first = load32Zero(i32.add(get(q), get(off[2 * k]!)));
            const both =
              2 * k + 1 < lanes
                ? load32Lane(i32.add(get(q), get(off[2 * k + 1]!)), first, 1)
                : first;
            return set(a, f64x2.add(get(a), f64x2.promoteLowF32x4(both)));
          }),
          inc(q, 4),
        ),
        inc(p, 1),
      ]),
      set(row, i32.add(get(out), i32.shl(get(m), i32c(3)))),
      acc.map((a, k) => v128store(get(row), get(a), 16 * k)),
    );
    return body;
  });
}

/**
 * By lanes 1 … 8: the number `register` gave the function summing that many
 * channels (null without SIMD: the JavaScript kernel sums).
 */
const sumFunctions = onceRegistered(() => {
  if (!arena()) return null;
  const ids: (number | null)[] = [];
  for (let lanes = 1; lanes <= GROUP; lanes++) ids[lanes] = registerFunction(sumFunction(lanes));
  return ids;
});

/**
 * A kernel summing x [outer, mid, inner] (float32) over outer and inner into
 * `o` [mid], on the threads when big enough to share. It runs only when x is
 * in the kernels' memory and big enough to pay for the call; otherwise it
 * returns false (and does nothing), for the caller's kernel to sum. Null for
 * an empty sum.
 */
export function blockSumKernel(
  outer: number,
  mid: number,
  inner: number,
): ((o: Float32Array | Float64Array, x: Float32Array) => boolean) | null {
  const size = outer * mid * inner;
  if (mid === 0 || size === 0) return null;
  return (o, x) => {
    // In place (weighed as a loop in place is); small sums stay in JavaScript.
    const work = size * IN_PLACE_WORK;
    if (size < MIN_WASM) return false;
    const px = pointerOf(x);
    const ids = px >= 0 ? sumFunctions() : null;
    if (!ids || ids.some((id, lanes) => lanes > 0 && id === null)) return false;
    const a = arena()!;
    const at = a.start;
    // Float64 sums (one of junk after the last), 8-byte aligned.
    const sums = Math.ceil(at / 2) * 8;
    const f = a.reserve(sums / 4 + 2 * (mid + 1));
    // Fewer channels a call when there are too few groups of 8 to go round
    // the threads (a conv's 8 bias channels were one call, on one thread):
    // each channel's sum is the same whichever call makes it. An even count,
    // so that only the last call can end on an odd channel: its float64 of
    // junk would land on the next call's first sum, wherever that ran first.
    const even = (n: number) => 2 * Math.ceil(n / 2);
    const per = splits(work) ? Math.min(GROUP, even(Math.ceil(mid / getThreads()))) : GROUP;
    const groups = Math.ceil(mid / per);
    parallel(work, (lane, t, parts) => {
      const [g0, g1] = share(groups, t, parts);
      for (let g = g0; g < g1; g++) {
        const m = g * per;
        const lanes = Math.min(per, mid - m);
        lane.call(ids[lanes]!, px, outer, mid, inner, m, sums);
      }
    });
    o.set(new Float64Array(f.buffer, sums, mid));
    return true;
  };
}
