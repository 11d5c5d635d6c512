import type { Kernel } from '../op.js';
import { MAX_PAGES } from './wasm/emit.js';
import { outerBinary } from './wasm/outer.js';

/**
 * The WebAssembly SIMD path of the row-by-row outer product (float32): per
 * example, each factor of `a` times the whole row of `b`, four lanes at a
 * time. Per-example weight gradients under vmap are these products, and the
 * result is the largest tensor vmap(grad) writes (64 examples of a 16×784
 * layer are 800K floats), so the product must cost little more than writing
 * it. The values are the JavaScript kernel's, bit for bit: one correctly
 * rounded float32 product each, with +0 for a zero times a finite factor.
 *
 * Unlike the other kernels it runs in a memory of its own, not shared and
 * not the kernels' arena: it never runs on worker threads, engines copy out
 * of a shared memory more slowly than out of a plain one (a 3 MB result,
 * 1.3–1.5× in Node 20 and 24), and the copy out is most of its time. The
 * memory holds one block of result and its rows' operands (about 300 KB);
 * no view of it outlives a call. (Nor is it wrapped in an `Arena`: views of
 * an Arena's memory count as the kernels' memory to `pointerOf`.)
 */

interface Exports {
  outer(rows: number, m: number, nb: number, a: number, b: number, c: number): void;
}

/**
 * Floats of result computed per call (256 KB): a block that stays in L2
 * until it is copied out, and few enough calls into WebAssembly (13 rather
 * than 64 for the MLP's first layer) that their cost does not show.
 */
const BLOCK = 65536;
/** Below this many results the copies and the call cost more than four lanes save. */
const MIN_SIZE = 4096;

let instance: { wasm: Exports; memory: WebAssembly.Memory } | null | undefined;
let view = new Float32Array(0);

function module(): { wasm: Exports; memory: WebAssembly.Memory } | null {
  if (instance !== undefined) return instance;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    const wasm = new WebAssembly.Instance(new WebAssembly.Module(outerBinary(false)), {
      env: { memory },
    }).exports as unknown as Exports;
    instance = { wasm, memory };
  } catch {
    instance = null;
  }
  return instance;
}

/** A view of the kernel's memory, grown to at least `floats` floats. */
function reserve(memory: WebAssembly.Memory, floats: number): Float32Array {
  const have = memory.buffer.byteLength;
  if (floats * 4 > have) memory.grow(Math.ceil((floats * 4 - have) / 65536));
  if (view.buffer !== memory.buffer) view = new Float32Array(memory.buffer);
  return view;
}

/**
 * The kernel of `rows` outer products of a[r, m] and b[r, n] into
 * out[r, m, n], or null where it would not pay or cannot run (too small, or
 * no WebAssembly SIMD).
 */
export function simdOuter(rows: number, m: number, n: number): Kernel | null {
  if (rows * m * n < MIN_SIZE) return null;
  const kernel = module();
  if (!kernel) return null;
  const { wasm, memory } = kernel;
  const n4 = (n + 3) & ~3;
  // Rows of the batch per call; the result block is [block, m, n4].
  const block = Math.max(1, Math.min(rows, Math.floor(BLOCK / (m * n4))));
  const oa = 0;
  const ob = (block * m + 3) & ~3;
  const oc = ob + block * n4;
  const need = oc + block * m * n4;
  return (o, [A, B]) => {
    const heap = reserve(memory, need);
    for (let r0 = 0; r0 < rows; r0 += block) {
      const count = Math.min(block, rows - r0);
      heap.set((A as Float32Array).subarray(r0 * m, (r0 + count) * m), oa);
      if (n4 === n) {
        heap.set((B as Float32Array).subarray(r0 * n, (r0 + count) * n), ob);
      } else {
        for (let r = 0; r < count; r++) {
          const from = (r0 + r) * n;
          heap.set((B as Float32Array).subarray(from, from + n), ob + r * n4);
        }
      }
      wasm.outer(count, m, n4 * 4, oa * 4, ob * 4, oc * 4);
      if (n4 === n) {
        o.set(heap.subarray(oc, oc + count * m * n), r0 * m * n);
      } else {
        for (let row = 0; row < count * m; row++) {
          const from = oc + row * n4;
          o.set(heap.subarray(from, from + n), (r0 * m + row) * n);
        }
      }
    }
  };
}
