import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  gradcheck,
  OptionError,
  ShapeError,
  type Tensor,
  tensor,
} from '../src/index.js';
import { conv2dRef, convTranspose2dRef } from './conv-reference.js';
import { expectAllClose, thrown, uniform } from './support.js';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Random conv2d settings whose kernel fits the padded input. */
const convCase = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    same: fc.boolean(),
    bias: fc.boolean(),
    seed,
  })
  .filter((c) => {
    const [ph, pw] = c.same ? [0, 0] : [c.ph, c.pw];
    return c.dh * (c.kh - 1) + 1 <= c.h + 2 * ph && c.dw * (c.kw - 1) + 1 <= c.w + 2 * pw;
  });

describe('conv2d', () => {
  it('matches the direct-loop definition over many settings', () => {
    fc.assert(
      fc.property(convCase, (c) => {
        const x = uniform([c.n, c.groups * c.cg, c.h, c.w], c.seed);
        const w = uniform([c.groups * c.og, c.cg, c.kh, c.kw], c.seed + 1);
        const b = c.bias ? uniform([c.groups * c.og], c.seed + 2) : null;
        const stride: [number, number] = c.same ? [1, 1] : [c.sh, c.sw];
        const padding = c.same ? ('same' as const) : ([c.ph, c.pw] as [number, number]);
        const y = conv2d(x, w, b, { stride, padding, dilation: [c.dh, c.dw], groups: c.groups });
        const ref = conv2dRef(x, w, b, stride, padding, [c.dh, c.dw], c.groups);
        expect(y.shape).toEqual(ref.shape);
        expectAllClose(y.data, ref.data);
      }),
      { numRuns: 150 },
    );
  });

  it('float32 agrees with float64 to single precision', () => {
    const x = uniform([2, 4, 9, 8], 1);
    const w = uniform([6, 2, 3, 3], 2);
    const o = { stride: 2, padding: 1, groups: 2 };
    const y64 = conv2d(x, w, null, o);
    const y32 = conv2d(x.cast('float32'), w.cast('float32'), null, o);
    expect(y32.dtype).toBe('float32');
    expectAllClose(y32.data, y64.data, { rtol: 1e-5, atol: 1e-5 });
  });

  it("'valid' is no padding and 'same' keeps the size, with the odd extra after", () => {
    const x = uniform([1, 1, 5, 6], 3);
    const w = uniform([1, 1, 2, 4], 4);
    expect(conv2d(x, w, null, { padding: 'valid' }).shape).toEqual([1, 1, 4, 3]);
    const same = conv2d(x, w, null, { padding: 'same' });
    expect(same.shape).toEqual([1, 1, 5, 6]);
    expectAllClose(same.data, conv2dRef(x, w, null, [1, 1], 'same', [1, 1], 1).data);
  });

  it('is also a Tensor method', () => {
    const x = uniform([1, 2, 4, 4], 5);
    const w = uniform([3, 2, 3, 3], 6);
    expect(Array.from(x.conv2d(w, null, { padding: 1 }).data)).toEqual(
      Array.from(conv2d(x, w, null, { padding: 1 }).data),
    );
  });
});

describe('convTranspose2d', () => {
  const tcase = fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 2 }),
      cg: fc.integer({ min: 1, max: 2 }),
      og: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 5 }),
      w: fc.integer({ min: 1, max: 5 }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.integer({ min: 1, max: 3 }),
      ph: fc.integer({ min: 0, max: 2 }),
      pw: fc.integer({ min: 0, max: 2 }),
      oph: fc.integer({ min: 0, max: 2 }),
      opw: fc.integer({ min: 0, max: 2 }),
      dh: fc.integer({ min: 1, max: 2 }),
      dw: fc.integer({ min: 1, max: 2 }),
      bias: fc.boolean(),
      seed,
    })
    .filter(
      (c) =>
        c.oph < Math.max(c.sh, c.dh) &&
        c.opw < Math.max(c.sw, c.dw) &&
        (c.h - 1) * c.sh - 2 * c.ph + c.dh * (c.kh - 1) + c.oph + 1 > 0 &&
        (c.w - 1) * c.sw - 2 * c.pw + c.dw * (c.kw - 1) + c.opw + 1 > 0,
    );

  it('matches the direct-loop definition over many settings', () => {
    fc.assert(
      fc.property(tcase, (c) => {
        const x = uniform([c.n, c.groups * c.cg, c.h, c.w], c.seed);
        const w = uniform([c.groups * c.cg, c.og, c.kh, c.kw], c.seed + 1);
        const b = c.bias ? uniform([c.groups * c.og], c.seed + 2) : null;
        const o = {
          stride: [c.sh, c.sw] as [number, number],
          padding: [c.ph, c.pw] as [number, number],
          outputPadding: [c.oph, c.opw] as [number, number],
          dilation: [c.dh, c.dw] as [number, number],
          groups: c.groups,
        };
        const y = convTranspose2d(x, w, b, o);
        const ref = convTranspose2dRef(
          x,
          w,
          b,
          o.stride,
          o.padding,
          o.outputPadding,
          o.dilation,
          c.groups,
        );
        expect(y.shape).toEqual(ref.shape);
        expectAllClose(y.data, ref.data);
      }),
      { numRuns: 150 },
    );
  });

  it('is the adjoint of conv2d: <conv2d(x, w), u> = <x, convTranspose2d(u, w)>', () => {
    const x = uniform([2, 4, 8, 6], 7);
    const w = uniform([6, 2, 3, 2], 8);
    const o = {
      stride: [2, 1] as [number, number],
      padding: [1, 0] as [number, number],
      dilation: [1, 2] as [number, number],
      groups: 2,
    };
    const y = conv2d(x, w, null, o);
    const u = uniform(y.shape as number[], 9);
    // (8 + 2 − 3) / 2 leaves a remainder: outputPadding 1 restores the input's height.
    const back = convTranspose2d(u, w, null, { ...o, outputPadding: [1, 0] });
    expect(back.shape).toEqual(x.shape);
    const lhs = y.mul(u).sum().item();
    const rhs = x.mul(back).sum().item();
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10);
  });
});

describe('1-D convolutions', () => {
  it('conv1d is conv2d over a unit height', () => {
    fc.assert(
      fc.property(
        fc.record({
          l: fc.integer({ min: 3, max: 9 }),
          k: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 3 }),
          p: fc.integer({ min: 0, max: 2 }),
          d: fc.integer({ min: 1, max: 2 }),
          groups: fc.integer({ min: 1, max: 2 }),
          seed,
        }),
        (c) => {
          fc.pre(c.d * (c.k - 1) + 1 <= c.l + 2 * c.p);
          const x = uniform([2, 2 * c.groups, c.l], c.seed);
          const w = uniform([3 * c.groups, 2, c.k], c.seed + 1);
          const b = uniform([3 * c.groups], c.seed + 2);
          const y = conv1d(x, w, b, { stride: c.s, padding: c.p, dilation: c.d, groups: c.groups });
          const ref = conv2dRef(
            x.reshape([2, 2 * c.groups, 1, c.l]),
            w.reshape([3 * c.groups, 2, 1, c.k]),
            b,
            [1, c.s],
            [0, c.p],
            [1, c.d],
            c.groups,
          );
          expect(y.shape).toEqual([ref.shape[0], ref.shape[1], ref.shape[3]]);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("conv1d 'same' and convTranspose1d", () => {
    const x = uniform([1, 2, 6], 10);
    expect(conv1d(x, uniform([3, 2, 4], 11), null, { padding: 'same' }).shape).toEqual([1, 3, 6]);
    const w = uniform([2, 3, 3], 12);
    const y = convTranspose1d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 });
    const ref = convTranspose2dRef(
      x.reshape([1, 2, 1, 6]),
      w.reshape([2, 3, 1, 3]),
      null,
      [1, 2],
      [0, 1],
      [0, 1],
      [1, 1],
      1,
    );
    expect(y.shape).toEqual([1, 3, 12]);
    expectAllClose(y.data, ref.data);
  });
});

describe('gradients (float64, central differences)', () => {
  const cases: [string, (...t: Tensor[]) => Tensor, Tensor[]][] = [
    [
      'conv2d stride 2, padding 1, bias',
      (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1 }),
      [uniform([2, 2, 5, 6], 1), uniform([3, 2, 3, 3], 2), uniform([3], 3)],
    ],
    [
      'conv2d dilation 2, groups 2, odd sizes',
      (x, w) => conv2d(x, w, null, { dilation: [2, 1], groups: 2, padding: [1, 0] }),
      [uniform([1, 4, 7, 5], 4), uniform([4, 2, 2, 3], 5)],
    ],
    [
      "conv2d 'same' with an even kernel, stride [1, 1]",
      (x, w) => conv2d(x, w, null, { padding: 'same' }),
      [uniform([1, 1, 4, 5], 6), uniform([2, 1, 2, 4], 7)],
    ],
    [
      'conv2d stride 3 leaves the last rows unread',
      (x, w) => conv2d(x, w, null, { stride: 3 }),
      [uniform([1, 2, 8, 7], 8), uniform([1, 2, 2, 2], 9)],
    ],
    [
      'convTranspose2d stride 2, padding 1, outputPadding 1, groups 2, bias',
      (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
      [uniform([1, 4, 3, 3], 10), uniform([4, 1, 3, 3], 11), uniform([2], 12)],
    ],
    [
      'convTranspose2d dilation 2, stride [1, 2]',
      (x, w) => convTranspose2d(x, w, null, { dilation: 2, stride: [1, 2] }),
      [uniform([2, 2, 3, 2], 13), uniform([2, 3, 2, 2], 14)],
    ],
    [
      'conv1d stride 2, padding 2, dilation 2, groups 3, bias',
      (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 2, dilation: 2, groups: 3 }),
      [uniform([2, 3, 9], 15), uniform([6, 1, 3], 16), uniform([6], 17)],
    ],
    [
      'convTranspose1d stride 3, outputPadding 2',
      (x, w) => convTranspose1d(x, w, null, { stride: 3, outputPadding: 2 }),
      [uniform([1, 2, 4], 18), uniform([2, 2, 2], 19)],
    ],
  ];
  for (const [name, f, inputs] of cases) {
    it(name, () => {
      const r = gradcheck(
        (...t) => f(...t).mul(uniform(f(...inputs).shape as number[], 99)),
        inputs,
      );
      expect(r.maxRelError, JSON.stringify(r)).toBeLessThan(1e-6);
    });
  }
});

describe('arguments', () => {
  it('takes the options third when there is no bias, as with a null bias', () => {
    const x = uniform([2, 3, 9, 9], 1);
    const w = uniform([4, 3, 3, 3], 2);
    const same = (a: Tensor, b: Tensor) => expect(Array.from(a.data)).toEqual(Array.from(b.data));
    same(conv2d(x, w, { stride: 2, padding: 1 }), conv2d(x, w, null, { stride: 2, padding: 1 }));
    const x1 = uniform([2, 3, 11], 3);
    const w1 = uniform([4, 3, 3], 4);
    same(conv1d(x1, w1, { stride: 2 }), conv1d(x1, w1, null, { stride: 2 }));
    const wt = uniform([3, 2, 3, 3], 5);
    same(
      convTranspose2d(x, wt, { stride: 2, outputPadding: 1 }),
      convTranspose2d(x, wt, null, { stride: 2, outputPadding: 1 }),
    );
    same(
      convTranspose1d(x1, uniform([3, 2, 3], 6), { stride: 3 }),
      convTranspose1d(x1, uniform([3, 2, 3], 6), null, { stride: 3 }),
    );
    expect(conv2d(x, w, { stride: 2 }).shape).toEqual([2, 4, 4, 4]);
  });

  it('refuses a third argument that is neither a bias nor options', () => {
    const x = uniform([1, 1, 4, 4], 1);
    const w = uniform([1, 1, 3, 3], 2);
    const bad = (f: () => unknown) => {
      const e = thrown(f);
      expect(e).toBeInstanceOf(OptionError);
      return e.message;
    };
    expect(bad(() => conv2d(x, w, new Float32Array(1) as never))).toBe(
      'conv2d: the third argument is the bias (a Tensor or null) or the options, got Float32Array',
    );
    expect(bad(() => conv1d(uniform([1, 1, 4], 1), uniform([1, 1, 3], 2), { stride: 1 }, {}))).toBe(
      'conv1d: the third argument is the bias (a Tensor or null) or the options, got options in both the third and the fourth place',
    );
  });
});

describe('errors', () => {
  const x = uniform([64, 3, 28, 28], 1);
  it('names the op and every shape', () => {
    const e = thrown(() => conv2d(x, uniform([8, 1, 5, 5], 2)));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe(
      'conv2d: input [64, 3, 28, 28] has 3 channels but weight [8, 1, 5, 5] expects 1 (groups 1)',
    );
    expect(thrown(() => conv2d(x, uniform([8, 3, 5], 2))).message).toBe(
      'conv2d: weight [8, 3, 5] must be 4-D [out, in/groups, kH, kW]',
    );
    expect(thrown(() => conv2d(uniform([3, 28, 28], 1), uniform([8, 3, 5, 5], 2))).message).toBe(
      'conv2d: input [3, 28, 28] must be 4-D [N, C, H, W]',
    );
    expect(thrown(() => conv2d(x, uniform([8, 3, 5, 5], 2), uniform([4], 3))).message).toBe(
      'conv2d: bias [4] must be [8], one entry per output channel (weight [8, 3, 5, 5], groups 1)',
    );
    expect(thrown(() => conv1d(uniform([2, 4, 10], 1), uniform([3, 3, 3], 2))).message).toBe(
      'conv1d: input [2, 4, 10] has 4 channels but weight [3, 3, 3] expects 3 (groups 1)',
    );
    expect(
      thrown(() => convTranspose2d(uniform([1, 4, 3, 3], 1), uniform([3, 2, 3, 3], 2))).message,
    ).toBe('convTranspose2d: input [1, 4, 3, 3] has 4 channels but weight [3, 2, 3, 3] expects 3');
  });

  it('refuses a kernel larger than the padded input, never an empty result', () => {
    const e = thrown(() => conv2d(uniform([1, 1, 4, 4], 1), uniform([1, 1, 5, 5], 2), null, {}));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe(
      'conv2d: kernel [5, 5] with dilation [1, 1] spans [5, 5], larger than the padded input [4, 4] (input [1, 1, 4, 4], weight [1, 1, 5, 5], padding [0, 0])',
    );
    expect(
      thrown(() => conv1d(uniform([1, 1, 4], 1), uniform([1, 1, 3], 2), null, { dilation: 2 }))
        .message,
    ).toMatch(
      /^conv1d: kernel \[3\] with dilation \[2\] spans \[5\], larger than the padded input \[4\]/,
    );
    // With padding it fits.
    expect(
      conv2d(uniform([1, 1, 4, 4], 1), uniform([1, 1, 5, 5], 2), null, { padding: 1 }).shape,
    ).toEqual([1, 1, 2, 2]);
  });

  it('names bad option values and the rule', () => {
    const w = uniform([8, 3, 3, 3], 2);
    const cases: [() => unknown, string][] = [
      [() => conv2d(x, w, null, { stride: 0 }), 'conv2d: stride 0 must be a positive integer'],
      [
        () => conv2d(x, w, null, { stride: [1, 1.5] }),
        'conv2d: stride [1, 1.5] must be positive integers',
      ],
      [
        () => conv2d(x, w, null, { padding: -1 }),
        'conv2d: padding -1 must be a non-negative integer',
      ],
      [
        () => conv2d(x, w, null, { dilation: [1, 2, 3] as never }),
        'conv2d: dilation [1, 2, 3] must be a number or 2 numbers, one per spatial axis',
      ],
      [() => conv2d(x, w, null, { groups: 0 }), 'conv2d: groups 0 must be a positive integer'],
      [
        () => conv2d(x, w, null, { stride: 2, padding: 'same' }),
        "conv2d: padding 'same' needs stride 1, got stride [2, 2] (as in PyTorch)",
      ],
      [
        () => conv2d(x, w, null, { padding: 'full' as never }),
        "conv2d: padding 'full' must be a number, a pair, 'valid' or 'same'",
      ],
      [
        () =>
          convTranspose2d(uniform([1, 4, 3, 3], 1), uniform([4, 2, 3, 3], 2), null, {
            stride: 2,
            outputPadding: 2,
          }),
        'convTranspose2d: outputPadding [2, 2] must be smaller than stride [2, 2] or dilation [1, 1] on each axis',
      ],
    ];
    for (const [fn, message] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(OptionError);
      expect(e.message).toBe(message);
    }
    const g = thrown(() =>
      conv2d(uniform([1, 4, 5, 5], 1), uniform([6, 2, 3, 3], 2), null, { groups: 4 }),
    );
    expect(g).toBeInstanceOf(ShapeError);
    expect(g.message).toBe(
      'conv2d: weight [6, 2, 3, 3] has 6 output channels, which groups 4 does not divide',
    );
    expect(
      thrown(() =>
        convTranspose2d(uniform([1, 3, 3, 3], 1), uniform([3, 2, 3, 3], 2), null, { groups: 2 }),
      ).message,
    ).toBe('convTranspose2d: input [1, 3, 3, 3] has 3 channels, which groups 2 does not divide');
    expect(
      thrown(() =>
        convTranspose2d(uniform([1, 1, 1, 1], 1), uniform([1, 1, 1, 1], 2), null, { padding: 1 }),
      ).message,
    ).toMatch(/^convTranspose2d: the output would be empty \(size \[-1, -1\]\)/);
    expect(
      thrown(() => conv2d(tensor([[[[1]]]], { dtype: 'int32' }), uniform([1, 1, 1, 1], 1))).name,
    ).toBe('DTypeError');
  });
});
