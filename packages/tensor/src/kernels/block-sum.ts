import { arena, instantiate, memoryShared, pointerOf } from './memory.js';
import { parallel, register, share } from './threads.js';
import {
  type Code,
  func,
  get,
  i32,
  i32c,
  inc,
  set,
  until,
  v128c,
  v128store,
  wasmModule,
} from './wasm/emit.js';
import { IN_PLACE_WORK } from './wasm-loop.js';

/**
 * Sums around a kept block of axes (a conv bias's gradient, batch-norm
 * statistics: [N, C, H, W] to [1, C, 1, 1]) on the threads, for float32
 * input already in the kernels' memory (a compiled plan's arena): each
 * output channel is a float64 sum of its values in input order, as
 * `sum`'s JavaScript kernel adds them, so the bits are the same. Channels
 * are independent, so they are cut across the threads by runs of 8; a
 * thread keeps eight channels' sums (four f64x2 vectors) going at once.
 */

const SIMD = 0xfd;
/** v128.load32_zero: the float at `address` in lane 0, zeros in the others. */
const load32Zero = (address: Code): Code => [address, SIMD, 0x5c, 2, 0];
/** v128.load32_lane: `v` with the float at `address` in lane `lane`. */
const load32Lane = (address: Code, v: Code, lane: number): Code => [
  address,
  v,
  SIMD,
  0x56,
  2,
  0,
  lane,
];
/** f64x2.promote_low_f32x4, then f64x2.add: two float64 sums, each plus its float32. */
const addPromoted = (acc: Code, v: Code): Code => [acc, v, SIMD, 0x5f, SIMD, 0xf0, 0x01];

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
            return set(a, addPromoted(get(a), both));
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

interface SumModule {
  /** By lanes 1 … 8: the function summing that many channels, and its number for the threads. */
  readonly fns: ((...args: number[]) => void)[];
  readonly ids: (number | null)[];
}

let made: SumModule | null | undefined;

function sumModule(): SumModule | null {
  if (made !== undefined) return made;
  made = null;
  if (!arena()) return made;
  try {
    const fns: ((...args: number[]) => void)[] = [];
    const ids: (number | null)[] = [];
    for (let lanes = 1; lanes <= GROUP; lanes++) {
      const binary = wasmModule([sumFunction(lanes)], memoryShared());
      const module = new WebAssembly.Module(binary);
      fns[lanes] = instantiate(module).exports.f as (...args: number[]) => void;
      ids[lanes] = register(module, binary);
    }
    made = { fns, ids };
  } catch {
    made = null; // no SIMD here: the JavaScript kernel sums
  }
  return made;
}

/**
 * A kernel summing x [outer, mid, inner] (float32) over outer and inner into
 * `o` [mid], on the threads when big enough to share, when x is in the kernels' memory;
 * it returns false (and does nothing) otherwise, for the caller's
 * kernel to sum.
 */
export function blockSumKernel(
  outer: number,
  mid: number,
  inner: number,
): ((o: Float32Array | Float64Array, x: Float32Array) => boolean) | null {
  const size = outer * mid * inner;
  if (mid === 0 || size === 0) return null;
  const groups = Math.ceil(mid / GROUP);
  return (o, x) => {
    // In place (weighed as a loop in place is); small sums stay in JavaScript.
    const work = size * IN_PLACE_WORK;
    if (size < MIN_WASM) return false;
    const px = pointerOf(x);
    const k = px >= 0 ? sumModule() : null;
    if (!k || k.ids.some((id, lanes) => lanes > 0 && id === null)) return false;
    const a = arena()!;
    const at = a.start;
    // Float64 sums (one of junk after the last), 8-byte aligned.
    const sums = Math.ceil(at / 2) * 8;
    const f = a.reserve(sums / 4 + 2 * (mid + 1));
    parallel(work, (lane, t, parts) => {
      const [g0, g1] = share(groups, t, parts);
      for (let g = g0; g < g1; g++) {
        const m = g * GROUP;
        const lanes = Math.min(GROUP, mid - m);
        lane.call(k.ids[lanes]!, px, outer, mid, inner, m, sums);
      }
    });
    o.set(new Float64Array(f.buffer, sums, mid));
    return true;
  };
}
