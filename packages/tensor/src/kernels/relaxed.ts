/**
 * WebAssembly relaxed SIMD (Node 22+, Chrome 114+, Firefox 120+): with it the
 * GEMM kernels are generated with one `f32x4.relaxed_madd` per step of their
 * sums (wasm/emit.ts `madd`), a fused multiply-add where the processor has
 * one (one rounding instead of two: faster, and closer to the exact sum).
 * Engines without it get a multiply then an add. Either way every kernel of a process sums in
 * the same way, so eager and compiled results stay bit-identical.
 */

/** A module whose one function is `f32x4.relaxed_madd`: valid exactly where relaxed SIMD is. */
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b,
  0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20,
  0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

let probed: boolean | undefined;
let allowed = true;

/** Whether the kernels use relaxed SIMD: the engine has it (probed once) and it is not switched off. */
export function relaxedSimd(): boolean {
  if (probed === undefined) {
    try {
      probed = WebAssembly.validate(PROBE);
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
