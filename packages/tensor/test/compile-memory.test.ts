import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { planArena, poisonArenas } from '../src/compile.js';
import {
  assignInPlace,
  avgPool2d,
  CompileError,
  compile,
  conv2d,
  grad,
  matmul,
  maxPool2d,
  noGrad,
  oneHot,
  pad,
  Rng,
  randn,
  type Tensor,
  tensor,
  vmap,
  zeros,
} from '../src/index.js';
import { pinnedBytes } from '../src/kernels/memory.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Lets WeakRefs made in this job clear, then collects. */
async function collect(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  await new Promise((r) => setTimeout(r, 0));
  gc();
}

afterEach(() => poisonArenas(false));

describe('compile: memory of a plan', () => {
  it('a deep chain of results of different sizes needs the memory of its widest neighbours, not of every op', () => {
    const rng = new Rng(1);
    const widths = [
      40, 96, 24, 130, 56, 72, 33, 110, 48, 64, 90, 28, 120, 36, 80, 52, 100, 44, 70, 60,
    ];
    const weights = widths.slice(1).map((w, i) => randn([widths[i]!, w], { rng }).mul(0.1));
    const chain = (x: Tensor) => {
      let h = x;
      for (const w of weights) h = h.matmul(w).relu();
      return h.sum();
    };
    const f = compile(chain);
    const x = randn([16, widths[0]!], { rng });
    expect((f(x) as Tensor).item()).toBe(chain(x).item());
    const bytes = widths.slice(1).map((w) => 16 * w * 4);
    // A matmul's result lives until the relu after it, the relu's until the
    // next matmul: at most two results of neighbouring layers at once.
    const widest = Math.max(...bytes.map((b, i) => b + Math.max(b, bytes[i + 1] ?? 0)));
    const [stats] = f.plans();
    expect(stats!.bufferBytes).toBeLessThanOrEqual(widest + 2 * 16);
    expect(stats!.bufferBytes).toBeLessThan(bytes.reduce((a, b) => a + b) / 4);
  });

  it('places results whose lifetimes meet apart, and reuses memory once a result is dead', () => {
    const buf = (n: number) => new Float32Array(n);
    const [a, b, c, d] = [buf(100), buf(50), buf(100), buf(30)];
    const { views, bytes } = planArena([
      { buffer: a, from: 0, to: 1 },
      { buffer: b, from: 1, to: 2 },
      { buffer: c, from: 2, to: 3 }, // a is dead by now: c may take its place
      { buffer: d, from: 3, to: 3 },
    ]);
    const range = (t: Float32Array) => {
      const v = views.get(t)!;
      return [v.byteOffset, v.byteOffset + v.byteLength] as const;
    };
    const overlap = (x: Float32Array, y: Float32Array) =>
      range(x)[0] < range(y)[1] && range(y)[0] < range(x)[1];
    expect(overlap(a, b)).toBe(false);
    expect(overlap(b, c)).toBe(false);
    expect(overlap(c, d)).toBe(false);
    expect(overlap(a, c)).toBe(true);
    expect(bytes).toBe(400 + 208);
    expect(views.get(b)).toBeInstanceOf(Float32Array);
    expect(views.get(b)!.length).toBe(50);
  });

  it('keeps nothing of the trace alive: an intermediate result is collected once the plan is made', async () => {
    let traced: WeakRef<Float32Array> | undefined;
    const rng = new Rng(2);
    const w = randn([32, 32], { rng });
    const f = compile((x: Tensor) => {
      const h = x.matmul(w).relu();
      traced = new WeakRef(h.storage as Float32Array);
      return h.matmul(w).sum();
    });
    const x = randn([64, 32], { rng });
    const first = (f(x) as Tensor).item();
    await collect();
    expect(traced!.deref()).toBeUndefined();
    expect((f(x) as Tensor).item()).toBe(first);
  });

  it('keeps no more alive while tracing than running eagerly does: a dropped intermediate is collected mid-trace', () => {
    const n = 1 << 21; // 8 MB of float32
    let freed = 0;
    const f = compile((x: Tensor) => {
      gc();
      let h: Tensor | null = x.mul(2);
      const s = h.add(1).sum(); // h's last reader
      h = null;
      const before = process.memoryUsage().arrayBuffers;
      // V8 sweeps dead array buffers concurrently after a collection; the
      // next collection first completes that sweep, so the count is current.
      gc();
      gc();
      freed = before - process.memoryUsage().arrayBuffers;
      return s;
    });
    f(zeros([n]));
    // h and the result of add(1), 16 MB, are garbage once sum has run.
    expect(freed).toBeGreaterThanOrEqual(2 * 4 * n);
  });

  it('frees a dropped plan’s arena at once, so new shapes reuse its memory', () => {
    const rng = new Rng(3);
    const f = compile((x: Tensor) => x.relu().mul(2).add(1).exp().sum(), { maxPlans: 1 });
    const grown = pinnedBytes;
    f(randn([100, 2000], { rng }));
    const before = grown();
    // Each plan's arena holds about 800 KB of intermediates; no collection
    // runs in between (finalizers need the event loop), so without freeing
    // at eviction the memory would grow by one arena per shape.
    for (let i = 1; i <= 20; i++) f(randn([100 + i, 2000], { rng }));
    expect(grown() - before).toBeLessThan(4 * 2000 * 120 * 4);
    expect(f(tensor([-1, 0, 1])).item()).toBeCloseTo(2 * Math.E + Math.E ** 3, 4);
  });

  it('clear() frees every plan now; the function traces again when called', () => {
    const rng = new Rng(4);
    const x = randn([120, 2000], { rng });
    const step = (t: Tensor) => t.relu().mul(2).add(1).exp().sum();
    const first = compile(step);
    const want = first(x).item();
    const before = pinnedBytes();
    // Dropped functions' arenas wait for a collection, which no allocation
    // here brings: without clear() each new function needs a new arena.
    for (let i = 0; i < 10; i++) {
      const f = compile(step);
      expect(f(x).item()).toBe(want);
      f.clear();
      expect(f.plans()).toEqual([]);
    }
    expect(pinnedBytes() - before).toBeLessThan(4 * 2000 * 120 * 4);
    first.clear();
    expect(first(x).item()).toBe(want);
    expect(first.plans()).toHaveLength(1);
  });

  it('keeps at most maxPlans plans, dropping the least recently used', () => {
    let traces = 0;
    const f = compile(
      (x: Tensor) => {
        traces++;
        return x.mul(2).sum();
      },
      { maxPlans: 2 },
    );
    const ofRows = (n: number) => zeros([n, 3]).add(1);
    f(ofRows(1));
    f(ofRows(2));
    f(ofRows(1)); // 1 is now the most recently used
    f(ofRows(3)); // drops 2
    expect(f.plans()).toHaveLength(2);
    expect(traces).toBe(3);
    f(ofRows(1));
    expect(traces).toBe(3);
    expect((f(ofRows(2)) as Tensor).item()).toBe(12);
    expect(traces).toBe(4);
    expect(() => compile((x: Tensor) => x, { maxPlans: 0 })).toThrow(CompileError);
    expect(() => compile((x: Tensor) => x, { maxPlans: 1.5 })).toThrow(
      /maxPlans must be a positive integer, got 1.5/,
    );
  });
});

/**
 * A training step through convolution, padding, both poolings, a batch
 * statistic and Adam: run on arenas filled with NaN, a kernel that reads
 * memory it has not written, or counts on fresh zeros, would differ from eager.
 */
function convStep(seed: number) {
  const rng = new Rng(seed);
  const params = [
    randn([6, 1, 3, 3], { rng }).mul(0.3).requireGrad(),
    randn([8, 6, 3, 3], { rng }).mul(0.2).requireGrad(),
    randn([10, 8 * 3 * 3], { rng })
      .mul(0.1)
      .requireGrad(),
  ];
  const [w1, w2, w3] = params as [Tensor, Tensor, Tensor];
  const m = params.map((p) => zeros(p.shape));
  const v = params.map((p) => zeros(p.shape));
  const step = (x: Tensor, y: Tensor) => {
    for (const p of params) p.grad = null;
    let h = conv2d(pad(x, [1, 1, 1, 1]), w1).relu();
    const mean = h.mean([0, 2, 3], true);
    h = h.sub(mean).div(h.sub(mean).square().mean([0, 2, 3], true).add(1e-5).sqrt());
    h = maxPool2d(h, 2);
    h = avgPool2d(conv2d(h, w2, undefined, { padding: 1 }).relu(), 2, { stride: 2, padding: 1 });
    const logits = h.reshape([x.shape[0]!, 8 * 3 * 3]).matmul(w3, { transB: true });
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      params.forEach((p, i) => {
        const g = p.grad!;
        assignInPlace(m[i]!, m[i]!.mul(0.9).add(g.mul(0.1)));
        assignInPlace(v[i]!, v[i]!.mul(0.999).add(g.mul(g).mul(0.001)));
        assignInPlace(p, p.sub(m[i]!.div(v[i]!.sqrt().add(1e-8)).mul(1e-2)));
      });
    });
    return loss;
  };
  return { params, step };
}

describe('compile: plans on reused memory', () => {
  it('per-example gradients of the 784-16-16-10 network on NaN-filled outputs: eager and compiled agree bit for bit, and with grad of one example', () => {
    // The first layer's per-example weight gradients (64 × 16 × 784 floats)
    // are a large output, not zero-filled: poisoned, any value its kernel
    // leaves unwritten reads NaN.
    poisonArenas(true);
    const rng = new Rng(5);
    const sizes = [784, 16, 16, 10];
    const params: Tensor[] = [];
    for (let l = 0; l < 3; l++) {
      params.push(randn([sizes[l + 1]!, sizes[l]!], { rng }).mul(0.05));
      params.push(randn([sizes[l + 1]!], { rng }).mul(0.1));
    }
    const loss = (
      w1: Tensor,
      b1: Tensor,
      w2: Tensor,
      b2: Tensor,
      w3: Tensor,
      b3: Tensor,
      x: Tensor,
      y: Tensor,
    ) => {
      let h = matmul(x, w1, { transB: true }).add(b1).relu();
      h = matmul(h, w2, { transB: true }).add(b2).relu();
      return matmul(h, w3, { transB: true }).add(b3).logSoftmax().mul(y).sum().neg();
    };
    const perExample = vmap(grad(loss), { inAxes: [null, null, null, null, null, null, 0, 0] });
    const compiled = compile(perExample);
    for (let s = 0; s < 3; s++) {
      const x = zeros([64, 784]);
      for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.2 ? rng.float() : 0;
      const y = zeros([64, 10]);
      for (let i = 0; i < 64; i++) y.data[i * 10 + rng.int(10)] = 1;
      const eager = perExample(...params, x, y) as Tensor[];
      const replayed = compiled(...params, x, y) as Tensor[];
      const i = 17 * s + 3; // one example, checked against grad alone
      const want = (
        grad(loss)(
          ...params,
          x.narrow(0, i, 1).reshape([784]),
          y.narrow(0, i, 1).reshape([10]),
        ) as Tensor[]
      )[0]!;
      expect(eager[0]!.shape).toEqual([64, 16, 784]);
      // The batch sums in another order than one example does: close, not the same bits.
      const got = eager[0]!.narrow(0, i, 1).data;
      let worst = 0;
      want.data.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(got[j]! - v) / (1 + Math.abs(v)));
      });
      expect(worst).toBeLessThan(1e-6);
      eager.forEach((g, k) => {
        expect(g.data.some(Number.isNaN)).toBe(false);
        expect(Array.from(replayed[k]!.data)).toEqual(Array.from(g.data));
      });
    }
  });

  it('a conv step on NaN-filled arenas trains to the bits of eager', () => {
    poisonArenas(true);
    const eager = convStep(3);
    const compiled = convStep(3);
    const step = compile(compiled.step);
    const rng = new Rng(4);
    for (let s = 0; s < 3; s++) {
      const x = randn([4, 1, 10, 10], { rng });
      const y = tensor([1, 7, 3, 0], { dtype: 'int32' });
      const want = eager.step(x, y).item();
      expect(Number.isNaN(want)).toBe(false);
      expect((step(x, y) as Tensor).item()).toBe(want);
    }
    eager.params.forEach((p, i) => {
      expect(compiled.params[i]!.data).toEqual(p.data);
    });
    expect(step.plans()[0]!.bufferBytes).toBeGreaterThan(0);
  });
});
