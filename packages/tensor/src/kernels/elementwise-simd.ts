import type { Kernel, Spec } from '../op.js';
import { sizeOf } from '../shape.js';
import { loopProgram, MIN_SIZE, wasmLoop } from './wasm-loop.js';

/** SIMD loops made so far, by op and shapes: eager mode asks for a kernel on every call. */
const made = new Map<string, Kernel | null>();

/**
 * One elementwise op over float32 tensors as a WebAssembly SIMD loop, the
 * way `compile` runs its fused loops (the same bits as the JavaScript loop,
 * which the lowering guarantees), or null where it cannot or would not pay:
 * too small, another dtype, an op without an exact lowering, a broadcast
 * other than a scalar, a row or a per-plane value. This is what makes an
 * eager ReLU over a conv's activations as fast as a compiled one.
 */
export function simdElementwise(op: string, inputs: readonly Spec[], out: Spec): Kernel | null {
  if (out.dtype !== 'float32' || inputs.some((s) => s.dtype !== 'float32')) return null;
  // Refused before a key is built: eager steps of small batches ask this for every op.
  if (sizeOf(out.shape) < MIN_SIZE) return null;
  const key = `${op}|${out.shape.join(',')}|${inputs.map((s) => s.shape.join(',')).join(';')}`;
  let kernel = made.get(key);
  if (kernel === undefined) {
    const args = inputs.map((_, k) => `x${k}`);
    const program = loopProgram(
      out.shape,
      inputs.map((s) => s.shape),
      [{ name: 't0', op, args, dtype: 'float32' }],
      ['t0'],
    );
    kernel = program && wasmLoop(program);
    // Bounded, so a program cycling through endless shapes does not leak.
    if (made.size >= 64) made.clear();
    made.set(key, kernel);
  }
  return kernel;
}
