import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignInPlace,
  availableCores,
  compile,
  conv2d,
  matmul,
  maxPool2d,
  noGrad,
  Rng,
  randn,
  setThreads,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';
import { pinnedArray } from '../src/kernels/memory.js';
import { rowChainJobs } from '../src/kernels/row-split.js';
import {
  setCallerClaims,
  setChunksPerThread,
  setParallelThreshold,
  workerParts,
} from '../src/kernels/threads.js';

/**
 * A compiled classifier's pass (products against narrow layers, bias and
 * ReLU loops, argmax over the last axis) runs as one job per block of rows
 * on 2 threads: the same bits as on 1 thread, as eager, and whatever the
 * cut.
 */

beforeAll(() => {
  setParallelThreshold(0); // split even these small chains
});
afterAll(() => {
  setParallelThreshold();
  setCallerClaims(true);
  setChunksPerThread();
  setThreads(availableCores());
});

/** An MLP's layers: weights [out, in] and biases [out]. */
function layers(rng: Rng, sizes: readonly number[]): [Tensor, Tensor][] {
  return sizes.slice(1).map((n, i) => [randn([n, sizes[i]!], { rng }), randn([n], { rng })]);
}

function forward(x: Tensor, ls: readonly [Tensor, Tensor][]): Tensor {
  let h = x;
  ls.forEach(([w, b], i) => {
    h = matmul(h, w, { transB: true }).add(b);
    if (i < ls.length - 1) h = h.relu();
  });
  return h;
}

/** Images as a first layer sees them: about 80% zeros, in the kernels' memory or not. */
function images(rng: Rng, m: number, k: number, pinned: boolean): Tensor {
  const data = pinned ? pinnedArray('float32', m * k) : new Float32Array(m * k);
  for (let i = 0; i < data.length; i++) data[i] = rng.float() < 0.2 ? rng.float() : 0;
  return tensor(data, { shape: [m, k] });
}

/**
 * Runs `f` on 1 thread, then on 2 with the workers running every block and
 * the rows cut into 16, 12 and 14 blocks; checks the 2-thread runs were
 * chains run as jobs, with parts on the worker. Returns both results.
 */
function onOneAndTwo(f: () => ArrayLike<number>[]): [number[][], number[][]] {
  const all = () => f().map((d) => Array.from(d));
  setThreads(1);
  const jobs = rowChainJobs();
  const one = all();
  expect(rowChainJobs(), 'no chain job on one thread').toBe(jobs);
  setThreads(2);
  setCallerClaims(false);
  try {
    const parts = workerParts();
    const two = all();
    expect(rowChainJobs(), 'the chain ran as one job').toBeGreaterThan(jobs);
    expect(workerParts(), 'blocks run on a worker').toBeGreaterThan(parts);
    for (const perThread of [6, 7]) {
      setChunksPerThread(perThread);
      expect(all(), `cut into ${2 * perThread} blocks`).toEqual(two);
    }
    return [one, two];
  } finally {
    setChunksPerThread();
    setCallerClaims(true);
  }
}

describe('chains of row-local steps on 1 and 2 threads', () => {
  it('an MLP classifier: logits and argmax, pinned images or not, odd batches, layers of 10, 16 and 20', () => {
    for (const [m, sizes, pinned] of [
      [1000, [784, 16, 16, 10], true],
      [998, [300, 20, 16, 10], false],
      [37, [64, 16, 12], true],
    ] as const) {
      const rng = new Rng(m);
      const ls = layers(rng, sizes);
      const x = images(rng, m, sizes[0], pinned);
      const pass = (t: Tensor) => noGrad(() => forward(t, ls));
      const eager = [pass(x).data, pass(x).argmax(-1).data].map((d) => Array.from(d));
      const logits = compile(pass);
      const classify = compile((t: Tensor) => noGrad(() => forward(t, ls).argmax(-1)));
      const [one, two] = onOneAndTwo(() => [logits(x).data, classify(x).data, classify(x).data]);
      expect(one).toEqual([eager[0], eager[1], eager[1]]);
      expect(two).toEqual(one);
      // The logits are handed back in a new array, outside the kernels'
      // memory: the steps before the last still run as one job.
      setThreads(2);
      const jobs = rowChainJobs();
      logits(x);
      expect(rowChainJobs()).toBe(jobs + 1);
    }
  });

  it('argmax in a chain picks as eager does: ties take the first, a NaN wins', () => {
    const rng = new Rng(5);
    const x = images(rng, 200, 32, true);
    // Zero weights make a logit its bias: outputs 1, 2 and 4 tie for the
    // largest in every row, or output 6 is NaN in every row (then every row
    // picks it, where the rest are numbers).
    for (const nan of [false, true]) {
      const ls = layers(rng, [32, 16, 8]);
      const w = ls[1]![0].data;
      for (const j of nan ? [6] : [1, 2, 4]) w.fill(0, j * 16, (j + 1) * 16);
      ls[1]![1].data.set(nan ? [0, 0, 0, 0, 0, 0, Number.NaN, 0] : [0, 1e6, 1e6, 0, 1e6, 0, 0, 0]);
      const f = (t: Tensor) => noGrad(() => forward(t, ls).argmax(-1));
      const eager = Array.from(f(x).data);
      expect(new Set(eager)).toEqual(new Set([nan ? 6 : 1]));
      const classify = compile(f);
      const [one, two] = onOneAndTwo(() => [classify(x).data]);
      expect(one).toEqual([eager]);
      expect(two).toEqual(one);
    }
  });

  it('a CNN training step: conv bias and ReLU, max pooling and its gather, a dense layer, and back through the scatter', () => {
    const run = (compiled: boolean) => {
      const rng = new Rng(11);
      const w1 = randn([4, 2, 3, 3], { rng }).mul(0.3).requireGrad();
      const b1 = randn([4], { rng }).mul(0.1).requireGrad();
      const w2 = randn([10, 64], { rng }).mul(0.1).requireGrad();
      const b2 = randn([10], { rng }).requireGrad();
      const params = [w1, b1, w2, b2];
      const f = (x: Tensor) => {
        for (const p of params) p.grad = null;
        const h = maxPool2d(conv2d(x, w1, b1).relu(), 2);
        const logits = matmul(h.reshape([x.shape[0]!, 64]), w2, { transB: true }).add(b2);
        const loss = logits.mul(logits).mean();
        loss.backward();
        return [loss, ...params.map((p) => p.grad!)];
      };
      const step = compiled ? compile(f) : f;
      const x = randn([24, 2, 10, 10], { rng: new Rng(12) }).relu();
      const out: ArrayLike<number>[] = [];
      for (let i = 0; i < 2; i++) out.push(...step(x).map((t) => t.data));
      return out;
    };
    setThreads(1);
    const eager = run(false).map((d) => Array.from(d));
    const [one, two] = onOneAndTwo(() => run(true));
    expect(one).toEqual(eager);
    expect(two).toEqual(one);
  });

  it('argmax over the leading axis is not row-local: after a chain it picks as eager does', () => {
    const rng = new Rng(13);
    const x = images(rng, 300, 64, true);
    const ls = layers(rng, [64, 16, 1]);
    // Over the rows of a [300, 1] score: the one index reads every row.
    for (const axis of [0, 1]) {
      const f = (t: Tensor) => noGrad(() => forward(t, ls).relu().argmax(axis));
      const eager = Array.from(f(x).data);
      const classify = compile(f);
      for (const threads of [1, 2]) {
        setThreads(threads);
        expect(Array.from(classify(x).data), `axis ${axis}, ${threads} threads`).toEqual(eager);
      }
    }
  });

  it('a weight that is not finite: the chain runs step by step, as eager', () => {
    const rng = new Rng(6);
    const ls = layers(rng, [64, 16, 10]);
    ls[0]![0].data[3] = Number.POSITIVE_INFINITY;
    const x = images(rng, 300, 64, true);
    const f = (t: Tensor) => noGrad(() => forward(t, ls));
    const eager = Array.from(f(x).data);
    const logits = compile(f);
    setThreads(2);
    const jobs = rowChainJobs();
    expect(Array.from(logits(x).data)).toEqual(eager);
    expect(rowChainJobs()).toBe(jobs);
  });

  it('a step reading whole what an earlier step wrote is not chained with it', () => {
    const run = (compiled: boolean) => {
      // In the kernels' memory, as a plan's loops need to write them in place.
      const w = randn([16, 16], { rng: new Rng(8) }).pinMemory();
      const out = zeros([16, 16]).pinMemory();
      const x = randn([16, 16], { rng: new Rng(9) });
      const step = (t: Tensor): undefined => {
        noGrad(() => {
          // Row by row over the same 16 rows as the product, which reads all of w for each of its rows.
          assignInPlace(w, w.mul(0.5));
          assignInPlace(out, matmul(t, w, { transB: true }).relu());
        });
      };
      const f = compiled ? compile(step) : step;
      const seen: number[][] = [];
      for (let i = 0; i < 3; i++) {
        f(x);
        seen.push(Array.from(w.data), Array.from(out.data));
      }
      return seen;
    };
    setThreads(1);
    const eager = run(false);
    setThreads(2);
    const jobs = rowChainJobs();
    expect(run(true)).toEqual(eager);
    expect(rowChainJobs(), 'the product and the loop after it: one chain').toBeGreaterThan(jobs);
  });
});
