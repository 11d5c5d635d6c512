import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { setDenseEnabled } from '../src/kernels/dense.js';
import { maxPoolArgmax } from '../src/kernels/pool.js';

/** The rule, written out: the first largest value in row-major window order; a NaN beats any number (the first NaN). */
function argmaxRef(x: Float32Array, planes: number, H: number, W: number, k: number, s: number) {
  const OH = Math.floor((H - k) / s) + 1;
  const OW = Math.floor((W - k) / s) + 1;
  const out: number[] = [];
  for (let p = 0; p < planes; p++)
    for (let y = 0; y < OH; y++)
      for (let t = 0; t < OW; t++) {
        let best = -1;
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            const at = (y * s + i) * W + t * s + j;
            const v = x[p * H * W + at]!;
            const b = best < 0 ? 0 : x[p * H * W + best]!;
            if (best < 0 || (!Number.isNaN(b) && (Number.isNaN(v) || v > b))) best = at;
          }
        out.push(best);
      }
  return out;
}

describe('max pooling kernel', () => {
  // 2×2 at stride 2 takes the WebAssembly kernel or an unrolled loop; 3×3 at stride 2 the general one.
  for (const [k, wasm] of [
    [2, true],
    [2, false],
    [3, true],
  ] as const) {
    it(`${k}×${k} windows at stride 2${wasm ? '' : ' (JavaScript)'}: ties to the first, NaN over any number, −∞ chosen when alone`, () => {
      setDenseEnabled(wasm);
      const rng = new Rng(k);
      const [planes, H, W] = [5, 9, 22]; // 11 windows a row: two groups of 4, then 3 alone
      const pick = [0, 1, 1, 2, Number.NaN, Number.NEGATIVE_INFINITY, -0];
      const x = Float32Array.from({ length: planes * H * W }, () => pick[rng.int(pick.length)]!);
      x.fill(Number.NEGATIVE_INFINITY, 0, 2 * W); // a window of only −∞
      const OH = Math.floor((H - k) / 2) + 1;
      const OW = Math.floor((W - k) / 2) + 1;
      const idx = new Int32Array(planes * OH * OW);
      const g = {
        planes,
        h: H,
        w: W,
        oh: OH,
        ow: OW,
        kh: k,
        kw: k,
        sh: 2,
        sw: 2,
        ph: 0,
        pw: 0,
        dh: 1,
        dw: 1,
      };
      try {
        maxPoolArgmax(g, x, idx);
      } finally {
        setDenseEnabled(true);
      }
      expect(Array.from(idx)).toEqual(argmaxRef(x, planes, H, W, k, 2));
    });
  }
});
