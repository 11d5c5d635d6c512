import { describe, expect, it } from 'vitest';
import { allocate, compile, Rng, type Tensor, tensor, where } from '../src/index.js';
import { loopProgram, wasmLoop } from '../src/kernels/wasm-loop.js';

/** Values that stress exact rounding: ordinary, tiny, huge, ±0, ±∞, NaN. */
function awkward(seed: number, n: number): Tensor {
  const rng = new Rng(seed);
  const special = [
    0,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    1e-40,
    -3e38,
    1,
  ];
  const data = Float32Array.from({ length: n }, (_, i) =>
    i % 17 === 0 ? special[rng.int(special.length)]! : rng.normal() * 10 ** (rng.int(9) - 4),
  );
  return tensor(data);
}

const same = (a: Tensor, b: Tensor) => {
  expect(a.size).toBe(b.size);
  for (let i = 0; i < a.size; i++) {
    if (!Object.is(a.data[i], b.data[i])) {
      throw new Error(`element ${i}: compiled ${a.data[i]}, eager ${b.data[i]}`);
    }
  }
};

const cases: Record<string, (a: Tensor, b: Tensor, s: Tensor) => Tensor> = {
  'add, sub, mul, div': (a, b, s) => a.add(b).mul(s).sub(a.div(b)),
  'sqrt, abs, neg': (a, b) => a.abs().sqrt().neg().add(b),
  relu: (a, b) => a.relu().mul(b.relu()),
  comparisons: (a, b) => a.gt(b).add(a.le(b)).add(a.eq(b)).sub(a.ne(b)).add(a.lt(0)).add(a.ge(b)),
  where: (a, b, s) => where(a.gt(s), a, b.mul(s)),

  'an optimiser-like chain with a broadcast scalar': (a, b, s) =>
    a.mul(0.9).add(b.mul(0.1)).div(b.mul(b).sqrt().add(1e-8)).mul(s).neg().add(a),
};

/**
 * fn run eagerly on pieces too small for WebAssembly (eager ops of 64
 * elements and more run through the same lowering): the JavaScript loops'
 * bits.
 */
function inJavaScript(
  fn: (a: Tensor, b: Tensor, s: Tensor) => Tensor,
  a: Tensor,
  b: Tensor,
  s: Tensor,
) {
  const out = new Float32Array(a.size);
  for (let at = 0; at < a.size; at += 48) {
    const piece = (t: Tensor) =>
      tensor(t.data.slice(at, Math.min(at + 48, a.size)) as Float32Array);
    out.set(fn(piece(a), piece(b), s).data, at);
  }
  return tensor(out);
}

describe('fused loops lowered to WebAssembly SIMD', () => {
  for (const [name, fn] of Object.entries(cases)) {
    it(`${name}: the same bits as JavaScript and as eager, ±0, ∞ and NaN included`, () => {
      // 4099: not a multiple of 4, the tail lanes are not written back; 1025
      // and 1026 vectors: an odd one after the pairs, and none.
      for (const size of [4099, 4104]) {
        const f = compile(fn);
        for (let seed = 0; seed < 3; seed++) {
          const a = awkward(seed, size);
          const b = awkward(seed + 100, size);
          const s = tensor([seed - 0.75]);
          const out = f(a, b, s) as Tensor;
          same(out, fn(a, b, s));
          same(out, inJavaScript(fn, a, b, s));
        }
        expect(f.plans()[0]!.simdLoops).toBeGreaterThan(0);
      }
    });
  }

  it('a where on a comparison also read as a number: the bits of plain float32 arithmetic', () => {
    // Eager runs single ops through the same lowering, so the reference here is
    // written out in JavaScript: the comparison's mask selects, its other
    // readers see 1.0 or 0.0.
    const fn = (a: Tensor, b: Tensor, s: Tensor) => {
      const c = a.abs().lt(b);
      return where(c, 0, a)
        .add(c)
        .mul(where(c, b, s))
        .add(where(a.relu(), a, b));
    };
    const f = compile(fn);
    const r = Math.fround;
    for (let seed = 0; seed < 3; seed++) {
      const a = awkward(seed, 4099);
      const b = awkward(seed + 100, 4099);
      const s = tensor([seed - 0.75]);
      const out = f(a, b, s) as Tensor;
      const sv = s.data[0]!;
      for (let i = 0; i < a.size; i++) {
        const x = a.data[i]!;
        const y = b.data[i]!;
        const c = Math.abs(x) < y ? 1 : 0;
        const relu = Math.max(x, 0);
        const want = r(r(r((c ? 0 : x) + c) * (c ? y : sv)) + (relu !== 0 ? x : y));
        if (!Object.is(out.data[i], want)) {
          throw new Error(
            `element ${i} (a ${x}, b ${y}): compiled ${out.data[i]}, expected ${want}`,
          );
        }
      }
    }
    expect(f.plans()[0]!.simdLoops).toBe(1);
  });

  it('arrays in the kernels’ memory, then others, then the first again: each call reads and writes its own', () => {
    // A loop remembers where the arrays of its last call live; a call with
    // other arrays (pinned or not), or the same ones holding new values,
    // must not run on what it remembered.
    const program = loopProgram(
      [4096],
      [[4096], [4096], [1]],
      [
        { name: 't0', op: 'mul', args: ['x0', 'x2'], dtype: 'float32' },
        { name: 't1', op: 'div', args: ['x0', 'x1'], dtype: 'float32' },
        { name: 't2', op: 'sub', args: ['t0', 't1'], dtype: 'float32' },
      ],
      ['t2', 't1'],
    )!;
    const kernel = wasmLoop(program)!;
    const fn = (a: Tensor, b: Tensor, s: Tensor) => a.mul(s).sub(a.div(b));
    const pinned = (seed: number) => {
      const x = allocate('float32', 4096, { pinMemory: true }) as Float32Array;
      x.set(awkward(seed, 4096).data);
      return x;
    };
    const [a1, b1, a2, b2, o1, o2, q1] = [1, 2, 3, 4, 0, 0, 0].map(pinned);
    const plain = awkward(5, 4096).data as Float32Array;
    const s = tensor([1.5]);
    const calls: Float32Array[][] = [
      [a1!, b1!, o1!, q1!],
      [a1!, b1!, o1!, q1!],
      [a2!, b1!, o1!, q1!],
      [a2!, b2!, o2!, q1!],
      [plain, b2!, o2!, q1!],
      [a1!, b1!, o1!, new Float32Array(4096)],
      [a1!, b1!, o1!, q1!],
    ];
    for (const [a, b, o, q] of calls) {
      kernel(o!, [a!, b!, s.data, q!]);
      same(tensor(o!), inJavaScript(fn, tensor(a!), tensor(b!), s));
      same(
        tensor(q!),
        inJavaScript((x, y) => x.div(y), tensor(a!), tensor(b!), s),
      );
    }
    a1!.set(awkward(6, 4096).data);
    kernel(o1!, [a1!, b1!, s.data, q1!]);
    same(tensor(o1!), inJavaScript(fn, tensor(a1!), tensor(b1!), s));
  });

  it('a row broadcast down the loop (a bias) is read per row: relu(x + b)', () => {
    const fn = (x: Tensor, b: Tensor) =>
      x
        .add(b)
        .relu()
        .mul(b.reshape([1, 16]));
    const f = compile(fn);
    for (let seed = 0; seed < 3; seed++) {
      const x = awkward(seed, 100 * 16).reshape([100, 16]);
      const b = awkward(seed + 7, 16);
      same(f(x, b) as Tensor, fn(x, b));
    }
    expect(f.plans()[0]!.simdLoops).toBe(1);
  });

  it('a value per plane (a conv bias [C, 1, 1]) is read per plane, all planes in turn: relu(x + b)', () => {
    const fn = (x: Tensor, b: Tensor, s: Tensor) =>
      x
        .add(b)
        .relu()
        .mul(s.reshape([3, 1, 1, 1]));
    const f = compile(fn);
    for (let seed = 0; seed < 3; seed++) {
      const x = awkward(seed, 3 * 5 * 6 * 12).reshape([3, 5, 6, 12]);
      const b = awkward(seed + 7, 5).reshape([5, 1, 1]);
      const s = awkward(seed + 9, 3);
      same(f(x, b, s) as Tensor, fn(x, b, s));
    }
    expect(f.plans()[0]!.simdLoops).toBe(0); // two kinds of plane in one loop: not lowered
    const g = compile((x: Tensor, b: Tensor) => x.add(b).relu());
    for (let seed = 0; seed < 3; seed++) {
      const x = awkward(seed, 3 * 5 * 6 * 12).reshape([3, 5, 6, 12]);
      const b = awkward(seed + 7, 5).reshape([5, 1, 1]);
      same(g(x, b) as Tensor, x.add(b).relu());
    }
    expect(g.plans()[0]!.simdLoops).toBe(1);
  });

  it('other broadcasts run as cycles of gathered values: planes of 11×11, rows of 11, two kinds of plane', () => {
    const cases: [(x: Tensor, b: Tensor) => Tensor, Tensor, Tensor][] = [
      // a batch-norm statistic over planes whose vectors straddle two planes; two passes
      [
        (x, b) => x.sub(b).mul(b).relu(),
        awkward(1, 30 * 8 * 11 * 11).reshape([30, 8, 11, 11]),
        awkward(2, 8).reshape([8, 1, 1]),
      ],
      // a bias over rows of 11
      [(x, b) => x.add(b).relu(), awkward(3, 300 * 11).reshape([300, 11]), awkward(4, 11)],
      // a plane [C, 1, 1] and a cycle [C, H, 1] in one loop
      [
        (x, b) => x.add(b.sum(1, true)).mul(b),
        awkward(5, 7 * 5 * 6 * 12).reshape([7, 5, 6, 12]),
        awkward(6, 5 * 6).reshape([5, 6, 1]),
      ],
    ];
    for (const [fn, x, b] of cases) {
      const f = compile(fn);
      f(x, b); // traced: the replays below run the plan
      for (let r = 0; r < 2; r++) {
        const x2 = awkward(10 + r, x.size).reshape(x.shape);
        const b2 = awkward(20 + r, b.size).reshape(b.shape);
        same(f(x2, b2) as Tensor, fn(x2, b2));
      }
      expect(f.plans()[0]!.simdLoops).toBeGreaterThan(0);
    }
  });

  it('large loops run a chunk at a time: rows, planes and a ragged last chunk read right', () => {
    const rowFn = (x: Tensor, b: Tensor) => x.add(b).relu().mul(x);
    const planeFn = (x: Tensor, b: Tensor) => x.sub(b).mul(b);
    const arrayFn = (x: Tensor, y: Tensor) => x.mul(y).add(x);
    const cases: [typeof rowFn, () => [Tensor, Tensor]][] = [
      // 20 a row: two passes
      [rowFn, () => [awkward(1, 1000 * 20).reshape([1000, 20]), awkward(2, 20)]],
      // a cycle of planes is 4800 values: three passes
      [
        planeFn,
        () => [
          awkward(3, 7 * 5 * 24 * 40).reshape([7, 5, 24, 40]),
          awkward(4, 5).reshape([5, 1, 1]),
        ],
      ],
      // two whole passes, then 7233 values
      [arrayFn, () => [awkward(5, 40001), awkward(6, 40001)]],
    ];
    for (const [fn, make] of cases) {
      const f = compile(fn);
      f(...make()); // traced: the replays below run the plan
      for (let r = 0; r < 2; r++) {
        const [a, b] = make();
        same(f(a, b) as Tensor, fn(a, b));
      }
      expect(f.plans()[0]!.simdLoops).toBe(1);
    }
  });

  it('ops it cannot lower exactly (exp) stay in JavaScript', () => {
    const f = compile((a: Tensor) => a.exp().add(1));
    const a = awkward(1, 2048);
    same(f(a) as Tensor, a.exp().add(1));
    expect(f.plans()[0]!.simdLoops).toBe(0);
  });
});
