import { describe, expect, it, vi } from 'vitest';
import {
  assignInPlace,
  bernoulli,
  compile,
  grad,
  noGrad,
  oneHot,
  Rng,
  randn,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';

/** A 784-16-16-10 MLP with hand-written Adam, all state in tensors: the kind of step compile exists for. */
function makeMlp(seed: number, activation: 'relu' | 'sigmoid') {
  const rng = new Rng(seed);
  const sizes = [784, 16, 16, 10];
  const params: Tensor[] = [];
  for (let l = 0; l < 3; l++) {
    params.push(
      randn([sizes[l + 1]!, sizes[l]!], { rng })
        .mul(1 / Math.sqrt(sizes[l]!))
        .requireGrad(),
    );
    params.push(zeros([sizes[l + 1]!], { requiresGrad: true }));
  }
  const m = params.map((p) => zeros(p.shape));
  const v = params.map((p) => zeros(p.shape));
  const lr = tensor([1e-3]);
  const b1p = tensor([1]);
  const b2p = tensor([1]);
  const forward = (x: Tensor) => {
    let h = x;
    for (let l = 0; l < 3; l++) {
      h = h.matmul(params[2 * l]!, { transB: true }).add(params[2 * l + 1]!);
      if (l < 2) h = activation === 'relu' ? h.relu() : h.sigmoid();
    }
    return h;
  };
  const step = (x: Tensor, y: Tensor) => {
    for (const p of params) p.grad = null;
    const logits = forward(x);
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      assignInPlace(b1p, b1p.mul(0.9));
      assignInPlace(b2p, b2p.mul(0.999));
      params.forEach((p, i) => {
        const g = p.grad!;
        assignInPlace(m[i]!, m[i]!.mul(0.9).add(g.mul(0.1)));
        assignInPlace(v[i]!, v[i]!.mul(0.999).add(g.mul(g).mul(0.001)));
        const mHat = m[i]!.div(b1p.neg().add(1));
        const vHat = v[i]!.div(b2p.neg().add(1));
        assignInPlace(p, p.sub(lr.mul(mHat).div(vHat.sqrt().add(1e-8))));
      });
    });
    return loss;
  };
  return { params, step, forward };
}

function batch(seed: number, n: number): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const x = zeros([n, 784]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.2 ? rng.float() : 0;
  const y = zeros([n], { dtype: 'int32' });
  for (let i = 0; i < n; i++) y.data[i] = rng.int(10);
  return [x, y];
}

describe('compile', () => {
  for (const activation of ['relu', 'sigmoid'] as const) {
    it(`replays a ${activation} MLP training step bit-identically to eager`, () => {
      const eager = makeMlp(7, activation);
      const compiled = makeMlp(7, activation);
      const step = compile(compiled.step);
      for (let s = 0; s < 5; s++) {
        const [x, y] = batch(100 + s, 32);
        const le = eager.step(x, y).item();
        const lc = (step(x, y) as Tensor).item();
        expect(lc).toBe(le);
      }
      eager.params.forEach((p, i) => {
        expect(Array.from(compiled.params[i]!.data)).toEqual(Array.from(p.data));
        expect(Array.from(compiled.params[i]!.grad!.data)).toEqual(Array.from(p.grad!.data));
      });
      const [stats] = step.plans();
      expect(stats!.fused).toBeGreaterThan(10);
      expect(stats!.inPlaceAssigns).toBeGreaterThan(10);
      expect(stats!.launches).toBeLessThan(stats!.traced);
      // The first layer's optimiser update (12,544 weights) runs as WebAssembly SIMD.
      expect(stats!.simdLoops).toBeGreaterThan(0);
    });
  }

  it('retraces when a shape changes and keeps both plans', () => {
    const model = makeMlp(1, 'relu');
    const step = compile(model.step);
    const reference = makeMlp(1, 'relu');
    for (const n of [8, 5, 8]) {
      const [x, y] = batch(n, n);
      expect((step(x, y) as Tensor).item()).toBe(reference.step(x, y).item());
    }
    expect(step.plans()).toHaveLength(2);
  });

  it('returns fresh copies that later calls do not overwrite', () => {
    const f = compile((a: Tensor, b: Tensor) => [a.mul(b).add(1), a.sub(b).exp()] as Tensor[]);
    const first = f(tensor([1, 2]), tensor([3, 4])) as Tensor[];
    const second = f(tensor([5, 6]), tensor([7, 8])) as Tensor[];
    expect(first[0]!.toArray()).toEqual([4, 9]);
    expect(second[0]!.toArray()).toEqual([36, 49]);
    expect(Array.from(first[1]!.data)).toEqual(Array.from(tensor([1 - 3, 2 - 4]).exp().data));
  });

  it('hands over the array a returned result was written into: no copy, and never an array handed over before', () => {
    const fn = (a: Tensor, b: Tensor) => {
      const h = a.matmul(b); // a kernel's result, read again below
      return [h, h.reshape([-1]), h.relu().sum().add(h.sum()), h] as Tensor[];
    };
    const f = compile(fn);
    const inputs = [0, 1, 2].map((s) => [randn([3, 4], { rng: s }), randn([4, 5], { rng: s + 9 })]);
    f(inputs[0]![0]!, inputs[0]![1]!); // traces
    const slice = vi.spyOn(Float32Array.prototype, 'slice');
    const got = inputs.map(([a, b]) => f(a!, b!) as Tensor[]);
    expect(slice).not.toHaveBeenCalled();
    slice.mockRestore();
    got.forEach((r, s) => {
      const want = fn(inputs[s]![0]!, inputs[s]![1]!);
      r.forEach((t, j) => {
        expect(t.shape).toEqual(want[j]!.shape);
        expect(Array.from(t.data)).toEqual(Array.from(want[j]!.data));
      });
      // As eager returns them: the same result twice, and a reshape of it, share one array.
      expect(r[3]!.storage).toBe(r[0]!.storage);
      expect(r[1]!.storage).toBe(r[0]!.storage);
      if (s > 0) expect(r[0]!.storage).not.toBe(got[s - 1]![0]!.storage);
    });
  });

  it('never writes the arrays of the tracing call: its results, and a result the step kept, keep their values', () => {
    let kept: Tensor | undefined;
    const f = compile((x: Tensor) => {
      kept = x.mul(2);
      return kept;
    });
    const first = f(tensor([1, 2])) as Tensor;
    const traced = kept!;
    const second = f(tensor([3, 4])) as Tensor;
    expect(first.toArray()).toEqual([2, 4]);
    expect(traced.toArray()).toEqual([2, 4]);
    expect(second.toArray()).toEqual([6, 8]);
  });

  it('copies a returned gradient, whose array the plan keeps writing as .grad', () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const f = compile((x: Tensor) => {
      w.grad = null;
      w.mul(x).square().sum().backward();
      return w.grad!;
    });
    const first = f(tensor([1, 1, 1])) as Tensor;
    const second = f(tensor([2, 2, 2])) as Tensor;
    expect(first.toArray()).toEqual([2, 4, 6]);
    expect(second.toArray()).toEqual([8, 16, 24]);
    expect(w.grad!.toArray()).toEqual([8, 16, 24]);
    expect(second.storage).not.toBe(w.grad!.storage);
  });

  it('reads external tensors by reference, so values written between calls are seen', () => {
    const scale = tensor([2]);
    const f = compile((x: Tensor) => x.mul(scale).sum());
    expect((f(tensor([1, 2])) as Tensor).item()).toBe(6);
    scale.data[0] = 10;
    expect((f(tensor([1, 2])) as Tensor).item()).toBe(30);
  });

  it('handles broadcasting, reductions and reshapes inside fused chains', () => {
    const fn = (x: Tensor, b: Tensor) =>
      x.add(b).relu().mul(2).reshape([6, 2]).sum(0).sigmoid().neg();
    const f = compile(fn);
    for (let s = 0; s < 3; s++) {
      const x = randn([3, 4], { rng: s });
      const b = randn([4], { rng: s + 10 });
      expect(Array.from((f(x, b) as Tensor).data)).toEqual(Array.from(fn(x, b).data));
    }
  });

  it('fuses erf (a multi-statement expression) into a chain with the same bits as eager', () => {
    const fn = (x: Tensor) => x.mul(Math.SQRT1_2).erf().add(1).mul(x).mul(0.5);
    const f = compile(fn);
    for (const dtype of ['float32', 'float64'] as const) {
      const x = randn([5, 7], { rng: 3, dtype }).mul(3);
      expect(Array.from((f(x) as Tensor).data)).toEqual(Array.from(fn(x).data));
    }
  });

  it('replays random ops with fresh draws from the same stream as eager', () => {
    const fn = (rng: Rng) => (x: Tensor) => x.mul(bernoulli(x.shape, 0.5, rng, { value: 2 }));
    const eager = fn(new Rng(5));
    const f = compile(fn(new Rng(5)));
    const x = tensor(new Float32Array(64).fill(1));
    const masks = [0, 1, 2].map(() => {
      const want = eager(x);
      const got = f(x) as Tensor;
      expect(Array.from(got.data)).toEqual(Array.from(want.data));
      return Array.from(got.data).join();
    });
    expect(new Set(masks).size).toBe(3);
  });

  it('a compiled function called inside another trace becomes part of that trace', () => {
    const state = tensor([0]);
    const inner = compile((x: Tensor) => {
      assignInPlace(state, state.add(x.sum()));
      return undefined;
    });
    const outer = compile((x: Tensor) => {
      inner(x);
      return state.mul(1);
    });
    inner(tensor([1])); // inner's own plan, traced outside
    expect(state.item()).toBe(1);
    expect((outer(tensor([2])) as Tensor).item()).toBe(3);
    expect((outer(tensor([3])) as Tensor).item()).toBe(6); // replayed: the update is in outer's plan
  });
});

describe('compile where a gradient is wanted through an argument', () => {
  it('runs as written, so grad through a compiled function is right, not zero', () => {
    const cube = compile((x: Tensor) => x.mul(x).mul(x).sum());
    const x = tensor([1, 2, 3], { dtype: 'float64' });
    cube(x); // a plan exists for this signature
    expect(grad((t: Tensor) => cube(t))(x).toArray()).toEqual([3, 12, 27]);
    const leaf = tensor([2], { dtype: 'float64', requiresGrad: true });
    cube(leaf).backward();
    expect(leaf.grad?.toArray()).toEqual([12]);
    // Without a gradient wanted, the plan replays.
    expect(noGrad(() => cube(leaf)).item()).toBe(8);
    expect(cube.plans().length).toBeGreaterThan(0);
  });
});
