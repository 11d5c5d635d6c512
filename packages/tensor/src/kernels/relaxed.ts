/**
 * WebAssembly relaxed SIMD (Node 22+, Chrome 114+, Firefox 120+): with it the
 * GEMM kernels are generated with one `f32x4.relaxed_madd` per step of their
 * sums (wasm/emit.ts `madd`), a fused multiply-add where the processor has
 * one (one rounding instead of two: faster, and closer to the exact sum).
 * Engines without it get a multiply then an add. Either way every kernel of
 * a process sums in the same way, so eager and compiled results stay
 * bit-identical.
 */
import { func, madd, wasmModule } from './wasm/emit.js';

let probed: boolean | undefined;
let allowed = true;

/** Whether the kernels use relaxed SIMD: the engine has it (probed once) and it is not switched off. */
export function relaxedSimd(): boolean {
  if (probed === undefined) {
    try {
      // A module whose one function is f32x4.relaxed_madd: valid exactly where relaxed SIMD is.
      const probe = func(null, 'vvv', 'v', '', (a, b, c) => madd(true)(a, b, c));
      probed = WebAssembly.validate(wasmModule([probe], false));
    } catch {
      probed = false;
    }
  }
  return allowed && probed;
}

/**
 * Switches relaxed SIMD off (or on again) for kernels generated from now
 * on, so benchmarks can compare the two builds on one engine.
 */
export function setRelaxedAllowed(on: boolean): void {
  allowed = on;
}
