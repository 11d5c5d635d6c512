import { describe, expect, it } from 'vitest';
import {
  compile,
  logSoftmax,
  pinArray,
  Rng,
  softmax,
  softmaxCrossEntropy,
  tensor,
} from '../src/index.js';
import { EXP_RANGE, expInPlace, expRows, expScratch } from '../src/kernels/exp.js';

// The WebAssembly exp must give Math.exp's bits for every value it is given,
// and softmax, logSoftmax and cross-entropy through it the bits of their
// JavaScript rows (Math.exp per value), including rows it hands back.

const same = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  expect(got.length).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 5; i++)
    if (!Object.is(got[i], want[i])) bad.push(`${i}: ${got[i]} != ${want[i]}`);
  expect(bad).toEqual([]);
};

/** exp through the kernel of each value (|x| ≤ EXP_RANGE), checked against Math.exp. */
function checkExp(xs: Float64Array) {
  const s = expScratch(xs.length)!;
  s.set(xs);
  expInPlace(s, xs.length);
  same(s.subarray(0, xs.length), Array.from(xs, Math.exp));
}

const asDouble = (hi: number, lo: number) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, hi >>> 0);
  v.setUint32(4, lo >>> 0);
  return v.getFloat64(0);
};

describe('the WebAssembly exp', () => {
  it('gives the bits of Math.exp over its whole range, and near every branch of fdlibm', () => {
    const rng = new Rng(7);
    const n = 1 << 20;
    const xs = new Float64Array(n);
    // Uniform over ±EXP_RANGE, softmax's range (−30..0), |x| < 2, and magnitudes down to 2^-60.
    for (let i = 0; i < n; i++) {
      const u = rng.float() + rng.float() * 2 ** -24;
      const which = i % 4;
      xs[i] =
        which === 0
          ? (2 * u - 1) * EXP_RANGE
          : which === 1
            ? -30 * u
            : which === 2
              ? 4 * u - 2
              : (2 * u - 1) * 2 ** (-60 * rng.float());
    }
    checkExp(xs);
    // The high words fdlibm branches on (½ ln 2, 1.5 ln 2, 2^-28), each side, both signs;
    // and ±0, ±1 (exp(1) is special-cased), ±EXP_RANGE, the smallest subnormal.
    const edges = [0, -0, 1, -1, EXP_RANGE, -EXP_RANGE, Number.MIN_VALUE, -Number.MIN_VALUE];
    for (const hi of [0x3fd62e42, 0x3fd62e43, 0x3ff0a2b1, 0x3ff0a2b2, 0x3e2fffff, 0x3e300000])
      for (const lo of [0, 1, 0xffffffff])
        for (const sign of [0, 0x80000000]) edges.push(asDouble(hi | sign, lo));
    // Every multiple of ln 2 / 2 in range, and its neighbours: where k changes.
    for (let j = -2040; j <= 2040; j++) {
      const x = (j * Math.LN2) / 2;
      if (Math.abs(x) < EXP_RANGE) edges.push(x, x * (1 + 2 ** -52), x * (1 - 2 ** -52));
    }
    checkExp(Float64Array.from(edges));
  });
});

/** The JavaScript rows softmax, logSoftmax and cross-entropy ran before the kernel. */
function referenceRow(a: Float32Array, base: number, n: number) {
  let m = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    const v = a[base + k]!;
    if (v > m || v !== v) m = v;
  }
  if (m === Number.NEGATIVE_INFINITY || m === Number.POSITIVE_INFINITY) m = 0;
  const e = Array.from(a.subarray(base, base + n), (v) => Math.exp(v - m));
  let s = 0;
  for (const v of e) s += v;
  return { m, s, e };
}

/** Logits of `rows` rows of 10: most ordinary, some with NaN, ±∞, or a spread past EXP_RANGE. */
function logits(rows: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(rows * 10);
  for (let i = 0; i < a.length; i++) a[i] = (rng.float() - 0.5) * 20;
  const odd = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 800, -900, 1e30];
  for (let r = 3; r < rows; r += 7) a[r * 10 + (r % 10)] = odd[r % odd.length]!;
  return a;
}

describe('softmax, logSoftmax and cross-entropy through the exp kernel', () => {
  for (const pinned of [false, true]) {
    it(`give the bits of the JavaScript rows (${pinned ? 'pinned' : 'plain'} arrays)`, () => {
      const rows = 64;
      const a = logits(rows, 3);
      const x = tensor(pinned ? pinArray(a.slice()) : a, { shape: [rows, 10] });
      const labels = tensor(
        Int32Array.from({ length: rows }, (_, r) => (r * 7) % 10),
        { shape: [rows] },
      );
      const want = { softmax: [] as number[], log: [] as number[], ce: [] as number[] };
      for (let r = 0; r < rows; r++) {
        const { m, s, e } = referenceRow(a, r * 10, 10);
        const ls = Math.log(s);
        for (let k = 0; k < 10; k++) {
          want.softmax.push(Math.fround(e[k]! / s));
          want.log.push(Math.fround(a[r * 10 + k]! - m - ls));
        }
        const label = (r * 7) % 10;
        want.ce.push(Math.fround(ls - (a[r * 10 + label]! - m)));
      }
      same(softmax(x).data, want.softmax);
      same(logSoftmax(x).data, want.log);
      same(softmaxCrossEntropy(x, labels).data, want.ce);
      // A compiled plan's arrays live in the kernels' memory: the kernel writes them in place.
      const planned = compile((t, y) => [softmax(t), logSoftmax(t), softmaxCrossEntropy(t, y)]);
      const [p, l, c] = planned(x, labels) as [typeof x, typeof x, typeof x];
      same(p.data, want.softmax);
      same(l.data, want.log);
      same(c.data, want.ce);
    });
  }

  it('finds the shift and sum of each row whatever the count and length of the rows (groups of four, odd ends)', () => {
    const rng = new Rng(9);
    const odd = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 800, -900, -0, 0];
    for (const [rows, n] of [
      [23, 7],
      [6, 3],
      [4, 4],
      [5, 1],
      [9, 2],
    ] as [number, number][]) {
      const a = Float32Array.from({ length: rows * n }, () => (rng.float() - 0.5) * 20);
      for (let r = 1; r < rows; r += 3) a[r * n + (r % n)] = odd[r % odd.length]!;
      // Zeros of both signs as the largest: the first is the shift, as rowShift keeps it.
      if (n >= 3) {
        a.set([-1, -0, 0], 0);
        a.set([-2, 0, -0], 2 * n);
      }
      const got = expRows(a, rows, n, null)!;
      for (let r = 0; r < rows; r++) {
        const { m, s, e } = referenceRow(a, r * n, n);
        const ok = e.every((_, k) => Math.abs(a[r * n + k]! - m) <= EXP_RANGE);
        expect(Number.isNaN(got[r]!), `${rows}×${n} row ${r}`).toBe(!ok);
        if (ok) {
          expect(Object.is(got[r], m), `${rows}×${n} row ${r}: ${got[r]} vs ${m}`).toBe(true);
          expect(got[rows + r]).toBe(s);
        }
      }
    }
  });

  it("hands back each row it cannot do (NaN as the row's shift), and does the others", () => {
    const a = logits(20, 5);
    const got = expRows(a, 20, 10, null)!;
    for (let r = 0; r < 20; r++) {
      const { m, s, e } = referenceRow(a, r * 10, 10);
      const ok = e.every((_, k) => Math.abs(a[r * 10 + k]! - m) <= EXP_RANGE);
      expect(Number.isNaN(got[r]!)).toBe(!ok);
      if (ok) {
        expect(got[r]).toBe(m);
        expect(got[20 + r]).toBe(s);
      }
    }
  });
});
