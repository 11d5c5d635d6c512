import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  grad,
  gradcheck,
  maxPool2d,
  OptionError,
  ShapeError,
  type Tensor,
  tensor,
} from '../src/index.js';
import { adaptiveAvgPool2dRef, avgPool2dRef, maxPool2dRef, poolSize } from './conv-reference.js';
import { expectAllClose, thrown, uniform } from './support.js';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

const poolCase = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 8 }),
    w: fc.integer({ min: 1, max: 8 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    ceil: fc.boolean(),
    seed,
  })
  .filter(
    (c) =>
      2 * c.ph <= c.kh &&
      2 * c.pw <= c.kw &&
      c.dh * (c.kh - 1) + 1 <= c.h + 2 * c.ph &&
      c.dw * (c.kw - 1) + 1 <= c.w + 2 * c.pw,
  );

describe('maxPool2d', () => {
  it('matches the direct-loop definition over many settings', () => {
    fc.assert(
      fc.property(poolCase, (c) => {
        const x = uniform([c.n, c.c, c.h, c.w], c.seed);
        const o = {
          stride: [c.sh, c.sw] as [number, number],
          padding: [c.ph, c.pw] as [number, number],
          dilation: [c.dh, c.dw] as [number, number],
        };
        const onlyPadding = (n: number, k: number, st: number, pd: number, dl: number) => {
          const out = poolSize(n, k, st, pd, dl, c.ceil);
          for (let q = 0; q < out; q++) {
            const taps = Array.from({ length: k }, (_, t) => q * st - pd + t * dl);
            if (!taps.some((v) => v >= 0 && v < n)) return true;
          }
          return false;
        };
        if (onlyPadding(c.h, c.kh, c.sh, c.ph, c.dh) || onlyPadding(c.w, c.kw, c.sw, c.pw, c.dw)) {
          expect(() => maxPool2d(x, [c.kh, c.kw], { ...o, ceilMode: c.ceil })).toThrow(
            /covers only padding/,
          );
          return;
        }
        const y = maxPool2d(x, [c.kh, c.kw], { ...o, ceilMode: c.ceil });
        const ref = maxPool2dRef(x, [c.kh, c.kw], o.stride, o.padding, o.dilation, c.ceil);
        expect(y.shape).toEqual(ref.shape);
        expect(Array.from(y.data)).toEqual(ref.data);
      }),
      { numRuns: 150 },
    );
  });

  it('sends the gradient to the arg-max, the first among ties', () => {
    const x = tensor(
      [
        [
          [
            [1, 3, 3, 0],
            [3, 2, 0, 0],
            [5, 5, 1, 1],
            [5, 4, 1, 1],
          ],
        ],
      ],
      {
        requiresGrad: true,
      },
    );
    const y = maxPool2d(x, 2);
    expect(y.toArray()).toEqual([
      [
        [
          [3, 3],
          [5, 1],
        ],
      ],
    ]);
    y.mul(
      tensor([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]),
    )
      .sum()
      .backward();
    expect(x.grad!.toArray()).toEqual([
      [
        [
          [0, 1, 2, 0],
          [0, 0, 0, 0],
          [3, 0, 4, 0],
          [0, 0, 0, 0],
        ],
      ],
    ]);
  });

  it('the gradient of a random case lands on the reference arg-max', () => {
    const x = uniform([2, 2, 7, 6], 3);
    const ref = maxPool2dRef(x, [3, 2], [2, 2], [1, 1], [1, 2]);
    const g = grad((t: Tensor) =>
      maxPool2d(t, [3, 2], { stride: 2, padding: 1, dilation: [1, 2] }).sum(),
    )(x);
    const expected = new Array<number>(x.size).fill(0);
    for (const at of ref.argmax) expected[at]! += 1;
    expect(Array.from(g.data)).toEqual(expected);
  });

  it('a NaN in a window wins it, in the unrolled 2×2 path and the general one', () => {
    const x = tensor([
      [
        [
          [1, 2, 3, 4],
          [5, Number.NaN, 7, 8],
          [9, 10, 11, 12],
          [13, 14, 15, 16],
        ],
      ],
    ]);
    expect(maxPool2d(x, 2).toArray()).toEqual([
      [
        [
          [Number.NaN, 8],
          [14, 16],
        ],
      ],
    ]);
    expect(maxPool2d(x, [3, 2], { stride: [1, 2] }).toArray()).toEqual([
      [
        [
          [Number.NaN, 12],
          [Number.NaN, 16],
        ],
      ],
    ]);
  });

  it('accepts [C, H, W] and is a Tensor method', () => {
    const x = uniform([2, 4, 4], 4);
    const y = x.maxPool2d(2);
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(y.data)).toEqual(Array.from(maxPool2d(x.reshape([1, 2, 4, 4]), 2).data));
  });
});

describe('avgPool2d', () => {
  it('matches the direct-loop definition, with and without counting the padding', () => {
    fc.assert(
      fc.property(
        poolCase,
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 7 })),
        (c, include, divisor) => {
          const x = uniform([c.n, c.c, c.h, c.w], c.seed);
          fc.pre(c.kh <= c.h + 2 * c.ph && c.kw <= c.w + 2 * c.pw);
          const o = {
            stride: [c.sh, c.sw] as [number, number],
            padding: [c.ph, c.pw] as [number, number],
            countIncludePad: include,
            ceilMode: c.ceil,
            ...(divisor === null ? {} : { divisorOverride: divisor }),
          };
          const y = avgPool2d(x, [c.kh, c.kw], o);
          const ref = avgPool2dRef(
            x,
            [c.kh, c.kw],
            o.stride,
            o.padding,
            include,
            c.ceil,
            divisor ?? undefined,
          );
          expect(y.shape).toEqual(ref.shape);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('adaptiveAvgPool2d', () => {
  it("matches PyTorch's bins, including outputs larger than the input", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        seed,
        (h, w, oh, ow, sd) => {
          const x = uniform([2, 2, h, w], sd);
          const y = adaptiveAvgPool2d(x, [oh, ow]);
          const ref = adaptiveAvgPool2dRef(x, [oh, ow]);
          expect(y.shape).toEqual(ref.shape);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('output size 1 is the global average', () => {
    const x = uniform([2, 3, 5, 4], 5);
    expectAllClose(adaptiveAvgPool2d(x, 1).data, x.mean([2, 3]).data);
  });
});

describe('gradients (float64, central differences)', () => {
  const cases: [string, (x: Tensor) => Tensor, Tensor][] = [
    ['maxPool2d 2', (x) => maxPool2d(x, 2), uniform([2, 2, 4, 5], 1)],
    [
      'maxPool2d 3, stride 2, padding 1, dilation [1, 2], odd sizes',
      (x) => maxPool2d(x, 3, { stride: 2, padding: 1, dilation: [1, 2] }),
      uniform([1, 2, 7, 9], 2),
    ],
    ['avgPool2d 2', (x) => avgPool2d(x, 2), uniform([2, 2, 5, 4], 3)],
    [
      'maxPool2d 2 and avgPool2d 3 in ceil mode, odd sizes',
      (x) =>
        maxPool2d(x, 2, { ceilMode: true }).add(
          avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
        ),
      uniform([1, 2, 5, 5], 7),
    ],
    [
      'avgPool2d 3, stride [2, 1], padding 1, countIncludePad false',
      (x) => avgPool2d(x, 3, { stride: [2, 1], padding: 1, countIncludePad: false }),
      uniform([1, 2, 6, 5], 4),
    ],
    [
      'adaptiveAvgPool2d [3, 2] of 7×5',
      (x) => adaptiveAvgPool2d(x, [3, 2]),
      uniform([1, 2, 7, 5], 5),
    ],
    ['adaptiveAvgPool2d 1', (x) => adaptiveAvgPool2d(x, 1), uniform([2, 3, 3, 4], 6)],
  ];
  it.each(cases)('%s', (_name, f, x) => {
    const v = uniform(f(x).shape as number[], 99);
    const r = gradcheck((t) => f(t).mul(v), [x]);
    expect(r.maxRelError, JSON.stringify(r)).toBeLessThan(1e-6);
  });
});

describe('errors', () => {
  it('refuses a kernel larger than the padded input', () => {
    const e = thrown(() => maxPool2d(uniform([1, 1, 3, 3], 1), 4));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe(
      'maxPool2d: kernel [4, 4] spans [4, 4], larger than the padded input [3, 3] (input [1, 1, 3, 3], padding [0, 0])',
    );
    expect(thrown(() => avgPool2d(uniform([1, 1, 3, 2], 1), [2, 3])).message).toBe(
      'avgPool2d: kernel [2, 3] spans [2, 3], larger than the padded input [3, 2] (input [1, 1, 3, 2], padding [0, 0])',
    );
  });

  it('names bad shapes and options', () => {
    expect(
      thrown(() => maxPool2d(uniform([1, 1, 1, 1], 1), 2, { padding: 1, dilation: [1, 2] }))
        .message,
    ).toBe(
      'maxPool2d: window 0 along axis 3 covers only padding (input [1, 1, 1, 1], kernel [2, 2], stride [2, 2], padding [1, 1], dilation [1, 2])',
    );
    expect(thrown(() => maxPool2d(uniform([4, 4], 1), 2)).message).toBe(
      'maxPool2d: input [4, 4] must be 4-D [N, C, H, W] (or 3-D [C, H, W])',
    );
    const cases: [() => unknown, string][] = [
      [
        () => maxPool2d(uniform([1, 1, 4, 4], 1), 2, { padding: 2 }),
        'maxPool2d: padding [2, 2] must be at most half of kernelSize [2, 2]',
      ],
      [
        () => maxPool2d(uniform([1, 1, 4, 4], 1), 0),
        'maxPool2d: kernelSize 0 must be a positive integer',
      ],
      [
        () => avgPool2d(uniform([1, 1, 4, 4], 1), 2, { stride: [1, 0] }),
        'avgPool2d: stride [1, 0] must be positive integers',
      ],
      [
        () => avgPool2d(uniform([1, 1, 4, 4], 1), 2, { divisorOverride: 0 }),
        'avgPool2d: divisorOverride 0 must be a finite non-zero number',
      ],
      [
        () => adaptiveAvgPool2d(uniform([1, 1, 4, 4], 1), 0),
        'adaptiveAvgPool2d: outputSize 0 must be a positive integer',
      ],
    ];
    for (const [fn, message] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(OptionError);
      expect(e.message).toBe(message);
    }
  });
});
