import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import {
  type Geometry,
  taper,
  wasmConvForward,
  wasmConvTranspose,
  wasmConvWeight,
} from '../src/kernels/wasm-conv.js';

/** A geometry; `far` adds padding after the input (uneven, as 'same' with an even kernel). */
type Spec = Omit<Geometry, 'oh' | 'ow'> & { far?: number };

function geometry({ far = 0, ...s }: Spec): Geometry {
  const oh = Math.floor((s.h + 2 * s.ph + far - s.dh * (s.kh - 1) - 1) / s.sh) + 1;
  const ow = Math.floor((s.w + 2 * s.pw + far - s.dw * (s.kw - 1) - 1) / s.sw) + 1;
  return { ...s, oh, ow };
}

const base = { sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, groups: 1 };
const cases: [string, Spec][] = [
  ['the small CNN, conv 1', { ...base, n: 3, c: 1, h: 28, w: 28, o: 8, kh: 5, kw: 5 }],
  ['the small CNN, conv 2', { ...base, n: 2, c: 8, h: 12, w: 12, o: 16, kh: 5, kw: 5 }],
  // 40 images: the weight gradient's 16 runs tapered, 4 images at the ends to 1 in the middle.
  ['a batch in tapered runs', { ...base, n: 40, c: 2, h: 9, w: 9, o: 8, kh: 3, kw: 3 }],
  ['odd channels and widths', { ...base, n: 2, c: 3, h: 7, w: 9, o: 5, kh: 3, kw: 2 }],
  ['padding', { ...base, n: 1, c: 2, h: 6, w: 11, o: 6, kh: 3, kw: 3, ph: 1, pw: 2 }],
  ['uneven padding', { ...base, n: 2, c: 3, h: 6, w: 9, o: 4, kh: 4, kw: 4, ph: 1, pw: 1, far: 1 }],
  ['dilation', { ...base, n: 2, c: 2, h: 9, w: 10, o: 4, kh: 3, kw: 2, dh: 2, dw: 3 }],
  ['groups', { ...base, n: 2, c: 6, h: 8, w: 8, o: 9, kh: 3, kw: 3, groups: 3, ph: 1, pw: 1 }],
  ['row stride 2', { ...base, n: 2, c: 3, h: 9, w: 12, o: 8, kh: 3, kw: 3, sh: 2 }],
  [
    'strides 2 and 3',
    { ...base, n: 2, c: 2, h: 11, w: 13, o: 4, kh: 3, kw: 2, sh: 2, sw: 3, ph: 1 },
  ],
];

/** The definition, in float64: y[b, o, y, x] = Σ w[o, c, i, j] · x[b, g·cg + c, y·sh − ph + i·dh, x·sw − pw + j·dw]. */
function forEachTap(g: Geometry, visit: (xi: number, wi: number, yi: number) => void): void {
  const cg = g.c / g.groups;
  const og = g.o / g.groups;
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.o; o++)
      for (let y = 0; y < g.oh; y++)
        for (let x = 0; x < g.ow; x++)
          for (let c = 0; c < cg; c++)
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                const ih = y * g.sh - g.ph + i * g.dh;
                const iw = x * g.sw - g.pw + j * g.dw;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                const ch = Math.floor(o / og) * cg + c;
                visit(
                  ((b * g.c + ch) * g.h + ih) * g.w + iw,
                  ((o * cg + c) * g.kh + i) * g.kw + j,
                  ((b * g.o + o) * g.oh + y) * g.ow + x,
                );
              }
}

function close(got: Float32Array, want: Float64Array, what: string) {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  }
  expect(worst, what).toBeLessThan(1e-4);
}

const normals = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe('WebAssembly convolution kernels', () => {
  for (const [name, spec] of cases) {
    const g = geometry(spec);
    const xs = g.n * g.c * g.h * g.w;
    const ws = g.o * (g.c / g.groups) * g.kh * g.kw;
    const ys = g.n * g.o * g.oh * g.ow;

    it(`forward matches the definition: ${name}`, () => {
      const fwd = wasmConvForward(g);
      if (g.sw !== 1) {
        expect(fwd).toBeNull();
        return;
      }
      const rng = new Rng(1);
      const x = normals(rng, xs);
      const w = normals(rng, ws);
      const want = new Float64Array(ys);
      forEachTap(g, (xi, wi, yi) => {
        want[yi]! += x[xi]! * w[wi]!;
      });
      const y = new Float32Array(ys).fill(Number.NaN);
      fwd!(y, x, w);
      close(y, want, name);
      const again = new Float32Array(ys);
      fwd!(again, x, w);
      expect(again).toEqual(y);
    });

    it(`transposed convolution is the adjoint in x: ${name}`, () => {
      const tr = wasmConvTranspose(g);
      if (g.sw !== 1) {
        expect(tr).toBeNull();
        return;
      }
      const rng = new Rng(2);
      const u = normals(rng, ys);
      const w = normals(rng, ws);
      const want = new Float64Array(xs);
      forEachTap(g, (xi, wi, yi) => {
        want[xi]! += u[yi]! * w[wi]!;
      });
      const x = new Float32Array(xs).fill(Number.NaN);
      tr!(x, u, w);
      close(x, want, name);
    });

    it(`weight gradient matches the definition: ${name}`, () => {
      const rng = new Rng(3);
      const x = normals(rng, xs);
      const u = normals(rng, ys);
      const want = new Float64Array(ws);
      forEachTap(g, (xi, wi, yi) => {
        want[wi]! += x[xi]! * u[yi]!;
      });
      const dw = new Float32Array(ws).fill(Number.NaN);
      wasmConvWeight(g)!(dw, x, u);
      close(dw, want, name);
    });
  }

  it('transposed: a non-finite tap reaches exactly the positions col2im would add it to', () => {
    const g = geometry({ ...base, n: 2, c: 2, h: 7, w: 10, o: 3, kh: 3, kw: 3, ph: 1, pw: 1 });
    const rng = new Rng(9);
    const u = normals(rng, 2 * 3 * 7 * 10);
    const w = normals(rng, 3 * 2 * 9);
    w[8] = Number.POSITIVE_INFINITY; // o 0, c 0, tap (2, 2)
    w[9 + 4] = Number.NaN; // o 0, c 1, tap (1, 1)
    const want = new Float64Array(2 * 2 * 7 * 10);
    forEachTap(g, (xi, wi, yi) => {
      want[xi]! += u[yi]! * w[wi]!;
    });
    const x = new Float32Array(want.length);
    wasmConvTranspose(g)!(x, u, w);
    const kind = (v: number) => (Number.isNaN(v) ? 'nan' : Number.isFinite(v) ? 'finite' : 'inf');
    expect(Array.from(x, kind)).toEqual(Array.from(want, kind));
    expect(Array.from(x, kind)).toContain('finite'); // the first row and column of channel 0
  });

  it('an empty batch gives a zero weight gradient and empty results', () => {
    const g = geometry({ ...base, n: 0, c: 2, h: 6, w: 6, o: 4, kh: 3, kw: 3 });
    const dw = new Float32Array(4 * 2 * 9).fill(Number.NaN);
    wasmConvWeight(g)!(dw, new Float32Array(0), new Float32Array(0));
    expect(dw.every((v) => v === 0)).toBe(true);
    wasmConvForward(g)!(new Float32Array(0), new Float32Array(0), new Float32Array(72));
    wasmConvTranspose(g)!(new Float32Array(0), new Float32Array(0), new Float32Array(72));
  });

  it('carries NaN and ∞ to the outputs that read them, and only those', () => {
    const g = geometry({ ...base, n: 1, c: 1, h: 10, w: 10, o: 4, kh: 3, kw: 3 });
    const rng = new Rng(4);
    const x = normals(rng, 100);
    const w = normals(rng, 36);
    x[0] = Number.NaN; // read only by output (0, 0)
    x[99] = Number.POSITIVE_INFINITY; // read only by output (7, 7)
    const y = new Float32Array(4 * 64);
    wasmConvForward(g)!(y, x, w);
    for (let o = 0; o < 4; o++) {
      expect(y[o * 64]).toBeNaN();
      expect(Number.isFinite(y[o * 64 + 63]!)).toBe(false);
      expect(y.subarray(o * 64 + 1, o * 64 + 63).every(Number.isFinite)).toBe(true);
    }
    const dw = new Float32Array(36);
    wasmConvWeight(g)!(
      dw,
      x,
      Float32Array.from({ length: 256 }, () => 1),
    );
    // Tap (0, 0) reads x[0]; tap (2, 2) reads x[99]; the other taps neither.
    for (let o = 0; o < 4; o++) {
      expect(dw[o * 9]).toBeNaN();
      expect(dw[o * 9 + 8]).toBe(Number.POSITIVE_INFINITY);
      expect(dw.subarray(o * 9 + 1, o * 9 + 8).every(Number.isFinite)).toBe(true);
    }
  });

  it('taper cuts images into runs in order, every image once, longest at the ends', () => {
    for (const count of [0, 1, 3, 19, 64, 1000]) {
      for (const parts of [1, 2, 3, 16, 24]) {
        let next = 0;
        const sizes: number[] = [];
        for (let t = 0; t < parts; t++) {
          const [from, to] = taper(count, t, parts);
          expect(from).toBe(next);
          expect(to).toBeGreaterThanOrEqual(from);
          sizes.push(to - from);
          next = to;
        }
        expect(next).toBe(count);
        // Sizes fall towards the middle from both ends (by at most rounding).
        const mid = (parts - 1) >> 1;
        for (let t = 0; t < mid; t++) {
          expect(sizes[t]! + 1).toBeGreaterThanOrEqual(sizes[t + 1]!);
          expect(sizes[parts - 1 - t]! + 1).toBeGreaterThanOrEqual(sizes[parts - 2 - t]!);
        }
      }
    }
    // The small CNN's 64 images on 2 threads (16 parts): 1 image in the middle, 7 at the ends.
    expect(taper(64, 0, 16)).toEqual([0, 7]);
    expect(taper(64, 7, 16)).toEqual([31, 32]);
    expect(taper(64, 15, 16)).toEqual([56, 64]);
  });
});
