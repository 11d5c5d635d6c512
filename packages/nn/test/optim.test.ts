import { compile, randn, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  buildModel,
  CosineLR,
  crossEntropy,
  type ModelSpec,
  type Optimizer,
  OptimizerError,
  SGD,
  StateDictError,
  StepLR,
} from '../src/index.js';

/**
 * The 2-parameter problem L(w) = (w₀ − 1)² + (w₁ + 2)²/2 from w = (0, 0):
 * ∇L = (2(w₀ − 1), w₁ + 2). Every expected value below was worked out by
 * hand from the update rule named in the test (lr 0.25 and momentum 0.5
 * keep all SGD values exact binary fractions, so they are compared exactly).
 */
function problem(dtype: 'float32' | 'float64' = 'float32') {
  const w = tensor([0, 0], { dtype, requiresGrad: true });
  const loss = () =>
    w
      .sub(tensor([1, -2], { dtype }))
      .square()
      .mul(tensor([1, 0.5], { dtype }))
      .sum();
  return { w, loss };
}

/** The raw bytes of a tensor's values: equal arrays of these are bit-identical. */
const bytesOf = (t: Tensor) =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();

function run(make: (w: Tensor) => Optimizer, steps = 3, dtype: 'float32' | 'float64' = 'float32') {
  const { w, loss } = problem(dtype);
  const opt = make(w);
  const trace: number[][] = [];
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    loss().backward();
    opt.step();
    trace.push(Array.from(w.data));
  }
  return trace;
}

describe('SGD against hand-computed updates', () => {
  it('plain: w ← w − ηg', () => {
    // g₁ = (−2, 2) → (0.5, −0.5); g₂ = (−1, 1.5) → (0.75, −0.875); g₃ = (−0.5, 1.125)
    expect(run((w) => new SGD([w], { lr: 0.25 }))).toEqual([
      [0.5, -0.5],
      [0.75, -0.875],
      [0.875, -1.15625],
    ]);
  });

  it('momentum: b ← μb + g, w ← w − ηb', () => {
    // b₁ = (−2, 2); g₂ = (−1, 1.5), b₂ = (−2, 2.5); g₃ = (0, 0.875), b₃ = (−1, 2.125)
    expect(run((w) => new SGD([w], { lr: 0.25, momentum: 0.5 }))).toEqual([
      [0.5, -0.5],
      [1, -1.125],
      [1.25, -1.65625],
    ]);
  });

  it('Nesterov: w ← w − η(g + μb)', () => {
    // step 1: b = (−2, 2), g + μb = (−3, 3); step 2: g = (−0.5, 1.25), b = (−1.5, 2.25),
    // g + μb = (−1.25, 2.375); step 3: g = (0.125, 0.65625), b = (−0.625, 1.78125)
    expect(run((w) => new SGD([w], { lr: 0.25, momentum: 0.5, nesterov: true }))).toEqual([
      [0.75, -0.75],
      [1.0625, -1.34375],
      [1.109375, -1.73046875],
    ]);
  });

  it('weight decay: g ← g + λw', () => {
    // step 2: g = (−1, 1.5) + 0.5·(0.5, −0.5) = (−0.75, 1.25); step 3: g = (−0.28125, 0.78125)
    expect(run((w) => new SGD([w], { lr: 0.25, weightDecay: 0.5 }))).toEqual([
      [0.5, -0.5],
      [0.6875, -0.8125],
      [0.7578125, -1.0078125],
    ]);
  });
});

describe('Adam against hand-computed updates', () => {
  // lr 0.1, β = (0.9, 0.999), ε = 1e-8. Step 1: m̂ = g, v̂ = g², so each
  // weight moves by 0.1·g/(|g| + ε) = 0.0999999995 towards its optimum.
  // Steps 2 and 3 follow m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), w ← w − η m̂/(√v̂ + ε).
  const tolerance = 1e-7; // the learning rate is stored as float32
  const expectTrace = (trace: number[][], expected: number[][]) => {
    expect(trace).toHaveLength(expected.length);
    trace.forEach((row, i) => {
      row.forEach((v, j) => {
        expect(Math.abs(v - expected[i]![j]!)).toBeLessThan(tolerance);
      });
    });
  };

  it('Adam', () => {
    expectTrace(
      run((w) => new Adam([w], { lr: 0.1 }), 3, 'float64'),
      [
        [0.0999999995, -0.0999999995],
        [0.199587771308, -0.199833513379],
        [0.298413727054, -0.299376607188],
      ],
    );
  });

  it('Adam with L2 weight decay (added to the gradient)', () => {
    expectTrace(
      run((w) => new Adam([w], { lr: 0.1, weightDecay: 0.1 }), 3, 'float64'),
      [
        [0.0999999995, -0.0999999995],
        [0.199558415506, -0.199812682349],
        [0.298295734263, -0.299296839705],
      ],
    );
  });

  it('AdamW (decoupled decay: w ← w(1 − ηλ) first)', () => {
    expectTrace(
      run((w) => new AdamW([w], { lr: 0.1, weightDecay: 0.1 }), 3, 'float64'),
      [
        [0.0999999995, -0.0999999995],
        [0.198587771313, -0.198833513384],
        [0.295436347208, -0.296391139486],
      ],
    );
  });

  it('keeps its step count and bias corrections in tensors', () => {
    const { w, loss } = problem();
    const opt = new Adam([w]);
    for (let i = 0; i < 3; i++) {
      loss().backward();
      opt.step();
      opt.zeroGrad();
    }
    expect(opt.stepCount.item()).toBe(3);
    expect(opt.beta1Power.item()).toBeCloseTo(0.9 ** 3, 15);
    expect(opt.beta2Power.item()).toBeCloseTo(0.999 ** 3, 15);
  });
});

describe('Adam and subnormal moments', () => {
  // With gradient g at step 1, m = 0.1·g and v = 0.001·g². The first two
  // gradients make m subnormal (below 2⁻¹²⁶ ≈ 1.18e-38), the third keeps it
  // normal; the fourth weight's gradient is NaN and its m must stay NaN.
  const grads = [1e-37, -1e-37, 2e-37, Number.NaN];
  const stepOnce = (dtype: 'float32' | 'float64', compiled: boolean) => {
    const w = tensor([1, 1, 1, 1], { dtype, requiresGrad: true });
    const c = tensor(grads, { dtype });
    const opt = new Adam([w], { lr: 0.1 });
    opt.checkFinite = false;
    const step = () => {
      opt.zeroGrad();
      w.mul(c).sum().backward();
      opt.step();
      return w;
    };
    // Two calls: the first traces, the second replays the plan.
    if (compiled) {
      const f = compile(step);
      f();
      f();
    } else {
      step();
      step();
    }
    return { w, state: opt.stateDict().tensors };
  };

  it('float32: subnormal m becomes +0, normal m and NaN are kept, compiled as eager bit for bit', () => {
    const eager = stepOnce('float32', false);
    const m = Array.from(eager.state['params.0.m']!.data);
    expect(Object.is(m[0], 0)).toBe(true);
    expect(Object.is(m[1], 0)).toBe(true);
    // 0.9·0.1·2e-37 + 0.1·2e-37 = 0.19·2e-37, normal
    expect(m[2]! / 3.8e-38).toBeCloseTo(1, 5);
    expect(m[3]).toBeNaN();
    // v = 0.001·g² underflows to 0 in float32 for every finite g here
    expect(Array.from(eager.state['params.0.v']!.data).slice(0, 3)).toEqual([0, 0, 0]);
    const compiled = stepOnce('float32', true);
    expect(bytesOf(compiled.w)).toEqual(bytesOf(eager.w));
    for (const name of ['params.0.m', 'params.0.v']) {
      expect(bytesOf(compiled.state[name]!)).toEqual(bytesOf(eager.state[name]!));
    }
  });

  it('float64: the same moments are normal there and kept', () => {
    const { state } = stepOnce('float64', false);
    const m = Array.from(state['params.0.m']!.data);
    expect(m[0]! / 1.9e-38).toBeCloseTo(1, 10);
    expect(m[1]! / -1.9e-38).toBeCloseTo(1, 10);
    expect(Array.from(state['params.0.v']!.data)[0]).toBeGreaterThan(0);
  });

  it('float64: moments below 2⁻¹⁰²² become +0', () => {
    const w = tensor([1, 1], { dtype: 'float64', requiresGrad: true });
    const opt = new Adam([w]);
    w.mul(tensor([1e-308, 1e-306], { dtype: 'float64' }))
      .sum()
      .backward();
    opt.step();
    const m = Array.from(opt.stateDict().tensors['params.0.m']!.data);
    expect(Object.is(m[0], 0)).toBe(true); // 1e-309 is subnormal
    expect(m[1]).toBeCloseTo(1e-307, 320);
  });
});

describe('optimiser mechanics', () => {
  it('skips parameters without a gradient and zeroGrad clears them', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    const opt = new SGD([a, b], { lr: 0.5 });
    a.mul(a).sum().backward();
    opt.step();
    expect(Array.from(a.data)).toEqual([0, 0]);
    expect(Array.from(b.data)).toEqual([3]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('updates parameters in place and reads the lr from lrTensor', () => {
    const { w, loss } = problem();
    const storage = w.data;
    const opt = new SGD([w], { lr: 0.25 });
    opt.lrTensor.data[0] = 0.5;
    expect(opt.lr).toBe(0.5);
    loss().backward();
    opt.step();
    expect(w.data).toBe(storage);
    expect(Array.from(w.data)).toEqual([1, -1]);
    opt.lr = 0.125;
    expect(opt.lrTensor.data[0]).toBe(0.125);
  });

  it('refuses impossible settings with the field and value', () => {
    const p = () => [tensor([1], { requiresGrad: true })];
    expect(() => new SGD(p(), { lr: -1 })).toThrow(
      'SGD: lr must be a finite non-negative number, got -1',
    );
    expect(() => new SGD(p(), { lr: 0.1, momentum: 1 })).toThrow(
      'SGD: momentum must be in [0, 1), got 1',
    );
    expect(() => new SGD(p(), { lr: 0.1, nesterov: true })).toThrow(OptimizerError);
    expect(() => new Adam(p(), { betas: [0.9, 1.5] })).toThrow(
      'Adam: betas[1] must be in [0, 1), got 1.5',
    );
    expect(() => new Adam([])).toThrow('Adam: got an empty parameter list');
    expect(() => new SGD([tensor([1])], { lr: 0.1 })).toThrow(
      /parameter 0 \[1\] must be a float leaf tensor/,
    );
    const shared = tensor([1], { requiresGrad: true });
    expect(() => new AdamW([shared, shared])).toThrow('AdamW: parameter 1 appears twice');
  });
});

describe('resuming from a state dict', () => {
  const spec: ModelSpec = {
    input: [4],
    layers: [
      { type: 'dense', units: 8, activation: 'tanh' },
      { type: 'dense', units: 3 },
    ],
  };
  const x = randn([16, 4], { rng: 5 });
  const y = tensor(
    Array.from({ length: 16 }, (_, i) => i % 3),
    { dtype: 'int32' },
  );

  function train(
    make: (params: Tensor[]) => Optimizer,
    split: number,
    total: number,
    withSchedule: boolean,
  ): Uint8Array[] {
    let model = buildModel(spec, { seed: 1 });
    let opt = make(model.parameters());
    let schedule = withSchedule ? new StepLR(opt, { stepSize: 2, gamma: 0.5 }) : undefined;
    for (let i = 0; i < total; i++) {
      if (i === split) {
        const saved = {
          model: model.stateDict(),
          opt: opt.stateDict(),
          schedule: schedule?.stateDict(),
        };
        // A fresh model from another seed, and a fresh optimiser: only the state carries over.
        model = buildModel(spec, { seed: 99 });
        model.loadStateDict(saved.model);
        opt = make(model.parameters());
        opt.loadStateDict(saved.opt);
        if (saved.schedule) {
          schedule = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
          schedule.loadStateDict(saved.schedule);
        }
      }
      opt.zeroGrad();
      crossEntropy(model.forward(x), y).backward();
      opt.step();
      schedule?.step();
    }
    return model.parameters().map((p) => bytesOf(p));
  }

  const optimisers: [string, (params: Tensor[]) => Optimizer][] = [
    [
      'SGD + Nesterov momentum + decay',
      (p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }),
    ],
    ['Adam', (p) => new Adam(p, { lr: 0.01 })],
    ['AdamW', (p) => new AdamW(p, { lr: 0.01 })],
  ];
  for (const [name, make] of optimisers) {
    it(`${name}: resumed training is bit-identical to uninterrupted training`, () => {
      const straight = train(make, -1, 6, true);
      const resumed = train(make, 3, 6, true);
      expect(resumed).toEqual(straight);
      // The state matters: dropping it changes the result.
      const forgetful = (() => {
        const m = buildModel(spec, { seed: 1 });
        let opt = make(m.parameters());
        for (let i = 0; i < 6; i++) {
          if (i === 3) opt = make(m.parameters());
          opt.zeroGrad();
          crossEntropy(m.forward(x), y).backward();
          opt.step();
        }
        return m.parameters().map((p) => bytesOf(p));
      })();
      expect(forgetful).not.toEqual(train(make, -1, 6, false));
    });
  }

  it('refuses a state of another optimiser or other parameter shapes', () => {
    const model = buildModel(spec, { seed: 1 });
    const adam = new Adam(model.parameters());
    expect(() => new SGD(model.parameters(), { lr: 1 }).loadStateDict(adam.stateDict())).toThrow(
      'SGD.loadStateDict: the state is of a Adam optimiser',
    );
    const other = buildModel({ ...spec, input: [5] }, { seed: 1 });
    expect(() => new Adam(other.parameters()).loadStateDict(adam.stateDict())).toThrow(
      StateDictError,
    );
    expect(() => new Adam(other.parameters()).loadStateDict(adam.stateDict())).toThrow(
      "'params.0.m' has shape [8, 4] in the state but [8, 5] in the optimiser",
    );
  });
});

describe('non-finite gradients', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    'a step on a gradient holding %s updates nothing',
    (bad) => {
      const w = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { requiresGrad: true },
      );
      const b = tensor([5], { requiresGrad: true });
      for (const opt of [new SGD([w, b], { lr: 0.1, momentum: 0.9 }), new Adam([w, b])]) {
        const before = w.toArray();
        w.grad = tensor([
          [0.1, 0.2],
          [0.3, 0.4],
        ]);
        b.grad = tensor([bad]);
        expect(() => opt.step()).toThrow(OptimizerError);
        expect(() => opt.step()).toThrow(
          new RegExp(
            `step: the gradient of parameter 1 \\[1\\] holds ${bad} at index 0; no parameter was updated`,
          ),
        );
        expect([w.toArray(), b.toArray()]).toEqual([before, [5]]);
        opt.checkFinite = false;
        opt.step(); // on request, the update runs and the NaN spreads, as in PyTorch
        expect(Number.isFinite(b.item())).toBe(false);
        b.storage[0] = 5;
      }
    },
  );
});

describe('a refused optimiser state changes nothing', () => {
  const spec: ModelSpec = { input: [4], layers: [{ type: 'dense', units: 3 }] };
  const x = randn([6, 4], { rng: 3 });
  const y = tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' });
  const trained = <O extends Adam | SGD>(opt: O, model: ReturnType<typeof buildModel>): O => {
    crossEntropy(model.forward(x), y).backward();
    opt.step();
    return opt;
  };
  const snapshot = (opt: Adam | SGD) => {
    const { hyper, tensors } = opt.stateDict();
    return { hyper, tensors: Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data)]) };
  };

  it('Adam with beta1 = 2: refused, its buffers and betas as they were', () => {
    const model = buildModel(spec, { seed: 1 });
    const adam = trained(new Adam(model.parameters(), { lr: 0.01 }), model);
    const hostile = adam.stateDict();
    for (const t of Object.values(hostile.tensors)) t.data.fill(7);
    hostile.hyper.beta1 = 2;
    const before = snapshot(adam);
    expect(() => adam.loadStateDict(hostile)).toThrow(
      /Adam\.loadStateDict: Adam: betas\[0\] must be in \[0, 1\), got 2/,
    );
    expect(snapshot(adam)).toEqual(before);
  });

  it.each([
    ['momentum', 5, /momentum must be in \[0, 1\), got 5/],
    ['weightDecay', -1, /weightDecay must be in \[0, ∞\), got -1/],
    ['weightDecay', Number.POSITIVE_INFINITY, /weightDecay must be in \[0, ∞\), got Infinity/],
    ['lr', Number.POSITIVE_INFINITY, /'lr' must be a finite non-negative number, got Infinity/],
    ['lr', -1, /'lr' must be a finite non-negative number, got -1/],
  ] as const)('SGD with %s = %s: refused, unchanged', (name, value, message) => {
    const model = buildModel(spec, { seed: 1 });
    const sgd = trained(new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }), model);
    const hostile = sgd.stateDict();
    for (const t of Object.values(hostile.tensors)) t.data.fill(7);
    hostile.hyper[name] = value;
    const before = snapshot(sgd);
    expect(() => sgd.loadStateDict(hostile)).toThrow(StateDictError);
    expect(() => sgd.loadStateDict(hostile)).toThrow(message);
    expect(snapshot(sgd)).toEqual(before);
  });
});

describe('learning-rate schedules', () => {
  const opt = () => new SGD([tensor([1], { requiresGrad: true })], { lr: 0.5 });

  it('StepLR multiplies by gamma every stepSize steps', () => {
    const o = opt();
    const s = new StepLR(o, { stepSize: 2, gamma: 0.5 });
    const seen = [o.lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      seen.push(o.lr);
    }
    expect(seen).toEqual([0.5, 0.5, 0.25, 0.25, 0.125, 0.125]);
  });

  it('CosineLR anneals from the base to etaMin over tMax, with optional linear warmup', () => {
    const o = opt();
    const s = new CosineLR(o, { tMax: 4, etaMin: 0.1 });
    const seen = [o.lr];
    for (let i = 0; i < 5; i++) {
      s.step();
      seen.push(o.lr);
    }
    const c = (t: number) => Math.fround(0.1 + (0.4 * (1 + Math.cos((Math.PI * t) / 4))) / 2);
    expect(seen).toEqual([c(0), c(1), c(2), c(3), c(4), Math.fround(0.1)]);
    expect(seen[2]).toBeCloseTo(0.3, 7);

    const w = opt();
    const warm = new CosineLR(w, { tMax: 6, warmup: 2 });
    const ramp = [w.lr];
    for (let i = 0; i < 6; i++) {
      warm.step();
      ramp.push(w.lr);
    }
    expect(ramp.slice(0, 3)).toEqual([0, 0.25, 0.5]);
    expect(ramp[4]).toBeCloseTo(0.25, 7); // half-way through the cosine
    expect(ramp[6]).toBe(0);
  });

  it('resumes from its state dict', () => {
    const a = opt();
    const s = new CosineLR(a, { tMax: 10 });
    for (let i = 0; i < 3; i++) s.step();
    const b = opt();
    const t = new CosineLR(b, { tMax: 10 });
    t.loadStateDict(s.stateDict());
    expect(b.lr).toBe(a.lr);
    s.step();
    t.step();
    expect(b.lr).toBe(a.lr);
    expect(() => new StepLR(b, { stepSize: 1 }).loadStateDict(s.stateDict())).toThrow(
      'StepLR.loadStateDict: the state is of a CosineLR schedule',
    );
    // A refused state leaves the schedule and its optimiser as they were.
    const lrBefore = b.lr;
    const epochBefore = t.stateDict().epoch;
    for (const baseLr of [Number.POSITIVE_INFINITY, -1, Number.NaN]) {
      expect(() => t.loadStateDict({ ...s.stateDict(), baseLr, epoch: 7 })).toThrow(
        /CosineLR\.loadStateDict: baseLr must be a finite non-negative number/,
      );
    }
    expect([b.lr, t.stateDict().epoch]).toEqual([lrBefore, epochBefore]);
    expect(() => new CosineLR(b, { tMax: 3, warmup: 3 })).toThrow(
      /warmup must be an integer in \[0, tMax = 3\)/,
    );
  });
});
