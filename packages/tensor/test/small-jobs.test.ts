import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  assignInPlace,
  availableCores,
  compile,
  matmul,
  noGrad,
  oneHot,
  Rng,
  randn,
  setThreads,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';
import { pinnedArray } from '../src/kernels/memory.js';
import {
  CoreMeter,
  parallel,
  SMALL_WORK,
  setCallerClaims,
  setParallelThreshold,
  splits,
  workerParts,
} from '../src/kernels/threads.js';

/**
 * The modern MLP's step (784-16-16-10, ReLU, cross-entropy, Adam, batch 64)
 * has no job of PARALLEL_WORK: its jobs from SMALL_WORK up are cut while the
 * workers have cores of their own. These tests give the threshold as a
 * value, which is used whatever the machine is doing.
 */

afterEach(() => {
  setParallelThreshold();
  setCallerClaims(true);
});
afterAll(() => setThreads(availableCores()));

describe('how many chunks a job is cut into', () => {
  it('one per thread under 4× the threshold, eight per thread from there', () => {
    setThreads(2);
    setParallelThreshold(1000);
    const partsOf = (work: number) => {
      let parts = 0;
      parallel(work, (lane, _t, n) => {
        parts = n;
        lane.call('pad', 0, 0, 1, 1, 0, 1, 1, 0, 0); // no planes: nothing written
      });
      return parts;
    };
    expect(partsOf(999)).toBe(1);
    expect(partsOf(1000)).toBe(2);
    expect(partsOf(3999)).toBe(2);
    expect(partsOf(4000)).toBe(16);
    expect(partsOf(1e9)).toBe(16);
    setThreads(1);
    expect(partsOf(1e9)).toBe(1);
  });
});

describe('CoreMeter', () => {
  /** A process whose CPU time grows at `rate` cores from where the last call left it. */
  const clock = () => {
    let cpu = 0;
    let last = 0;
    let reads = 0;
    return {
      at(now: number, rate: number) {
        cpu += (now - last) * rate;
        last = now;
        return () => {
          reads++;
          return cpu;
        };
      },
      reads: () => reads,
    };
  };

  it('cuts small jobs while the threads get their cores, and pauses, longer each time, when they do not', () => {
    const meter = new CoreMeter();
    const c = clock();
    expect(meter.free(0, c.at(0, 2), 2)).toBe(true); // a first window starts
    expect(meter.free(5, c.at(5, 2), 2)).toBe(true);
    expect(meter.free(10, c.at(10, 1.9), 2)).toBe(true); // 1.95 cores
    expect(meter.free(20, c.at(20, 1), 2)).toBe(false); // 1 core: a pause of 40 ms
    expect(meter.free(59, c.at(59, 1), 2)).toBe(false);
    expect(meter.free(60, c.at(60, 1), 2)).toBe(true); // tried again
    expect(meter.free(70, c.at(70, 1.2), 2)).toBe(false); // a pause of 80 ms
    expect(meter.free(149, c.at(149, 1), 2)).toBe(false);
    expect(meter.free(150, c.at(150, 1), 2)).toBe(true);
    expect(meter.free(160, c.at(160, 1), 2)).toBe(false); // 160 ms
    expect(meter.free(320, c.at(320, 1), 2)).toBe(true);
    expect(meter.free(330, c.at(330, 2), 2)).toBe(true); // free: the next pause is halved, 160 ms
    expect(meter.free(340, c.at(340, 1), 2)).toBe(false);
    expect(meter.free(499, c.at(499, 1), 2)).toBe(false);
    expect(meter.free(500, c.at(500, 1), 2)).toBe(true);
  });

  it('pauses at most 10.24 s', () => {
    const meter = new CoreMeter();
    const c = clock();
    let now = 0;
    meter.free(now, c.at(now, 1), 2);
    let pause = 0;
    for (let trial = 0; trial < 12; trial++) {
      now += 10;
      expect(meter.free(now, c.at(now, 1), 2)).toBe(false);
      const from = now;
      while (!meter.free(++now, c.at(now, 1), 2));
      pause = now - from;
    }
    expect(pause).toBe(10240);
  });

  it('reads CPU time only at the ends of windows, and starts afresh after a gap without jobs', () => {
    const meter = new CoreMeter();
    const c = clock();
    for (let now = 0; now < 10; now += 0.1) meter.free(now, c.at(now, 2), 2);
    expect(c.reads()).toBe(1);
    // 200 ms without a small job, the process idle: not a window of 0.1 cores.
    expect(meter.free(210, c.at(210, 0.1), 2)).toBe(true);
    expect(meter.free(220, c.at(220, 2), 2)).toBe(true);
  });
});

describe("the modern MLP's step on 1 and 2 threads", () => {
  /**
   * 784-16-16-10 with ReLU, cross-entropy and Adam's update (as @neurite/nn
   * writes it), batch 64 of images ~80% zeros in the kernels' memory: the
   * parameters after `steps` steps, and the losses.
   */
  const train = (steps: number): number[][] => {
    const rng = new Rng(5);
    const sizes = [784, 16, 16, 10];
    const params: Tensor[] = [];
    for (let i = 1; i < sizes.length; i++) {
      const w = randn([sizes[i]!, sizes[i - 1]!], { rng }).mul(Math.sqrt(2 / sizes[i - 1]!));
      params.push(w.requireGrad(), zeros([sizes[i]!]).requireGrad());
    }
    const ms = params.map((p) => zeros(p.shape));
    const vs = params.map((p) => zeros(p.shape));
    const [b1, b2, lr, eps] = [0.9, 0.999, 1e-3, 1e-8];
    const t = zeros([1]);
    const step = compile((x: Tensor, y: Tensor) => {
      for (const p of params) p.grad = null;
      let h = x;
      for (let i = 0; i < params.length; i += 2) {
        h = matmul(h, params[i]!, { transB: true }).add(params[i + 1]!);
        if (i + 2 < params.length) h = h.relu();
      }
      const loss = h.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
      loss.backward();
      noGrad(() => {
        assignInPlace(t, t.add(1));
        const bc1 = t.mul(Math.log(b1)).exp().neg().add(1);
        const bc2Sqrt = t.mul(Math.log(b2)).exp().neg().add(1).sqrt();
        params.forEach((p, i) => {
          const g = p.grad!;
          const m = ms[i]!.mul(b1).add(g.mul(1 - b1));
          const v = vs[i]!.mul(b2).add(g.mul(g).mul(1 - b2));
          assignInPlace(ms[i]!, m);
          assignInPlace(vs[i]!, v);
          assignInPlace(p, p.sub(m.div(v.sqrt().div(bc2Sqrt).add(eps)).mul(lr).div(bc1)));
        });
      });
      return loss;
    });
    const data = new Rng(6);
    const pixels = pinnedArray('float32', 64 * 784);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < pixels.length; i++) pixels[i] = data.float() < 0.2 ? data.float() : 0;
      const y = zeros([64], { dtype: 'int32' });
      for (let i = 0; i < 64; i++) y.data[i] = data.int(10);
      losses.push(step(tensor(pixels, { shape: [64, 784] }), y).item());
    }
    return [losses, ...params.map((p) => Array.from(p.data))];
  };

  it('the first layer’s chain and weight gradient are big enough to cut; Adam’s update and the hidden layers are not', () => {
    setThreads(2);
    setParallelThreshold(SMALL_WORK);
    // 64 images ~20% non-zero against 16 outputs: the product, and the weight gradient.
    expect(splits(64 * 784 * 16 * 0.2)).toBe(true);
    // Adam's update of 784×16 weights in place, weighed as `parallel` weighs it.
    expect(splits(784 * 16 * 4)).toBe(false);
    // The second layer's 16×16 product over 64 rows.
    expect(splits(64 * 16 * 16)).toBe(false);
  });

  it('an update in place of 12,544 weights is cut in two from a threshold of 2^15: the same bits', () => {
    const update = () => {
      const rng = new Rng(7);
      // Weights and moments in the kernels' memory, as @neurite/nn makes them.
      const [p, m, v] = [0, 1, 2].map(() => {
        const x = pinnedArray('float32', 16 * 784);
        x.set(randn([16, 784], { rng }).abs().data);
        return tensor(x, { shape: [16, 784] });
      });
      const step = compile((g: Tensor) => {
        const mNext = m!.mul(0.9).add(g.mul(0.1));
        const vNext = v!.mul(0.999).add(g.mul(g).mul(0.001));
        assignInPlace(m!, mNext);
        assignInPlace(v!, vNext);
        assignInPlace(p!, p!.sub(mNext.div(vNext.sqrt().add(1e-8)).mul(1e-3)));
        return p!;
      });
      // The gradient in the kernels' memory, as a compiled step's own gradients are.
      const g = pinnedArray('float32', 16 * 784);
      for (let s = 0; s < 3; s++) {
        g.set(randn([16, 784], { rng }).data);
        step(tensor(g, { shape: [16, 784] }));
      }
      return [p, m, v].map((x) => Array.from(x!.data));
    };
    setThreads(1);
    const one = update();
    setThreads(2);
    // A fused loop is made ready for the threads when the threshold is at most its work.
    setParallelThreshold(1 << 15);
    setCallerClaims(false);
    const before = workerParts();
    expect(update()).toEqual(one);
    // Two parts a step once compiled (the first call traces and runs it as it is).
    expect(workerParts() - before).toBeGreaterThanOrEqual(4);
  });

  it('trains to the same bits, its small jobs cut between the threads', () => {
    setThreads(1);
    const one = train(3);
    setThreads(2);
    setParallelThreshold(SMALL_WORK);
    // Parts shared as they come (on a busy machine this thread may run them all).
    expect(train(3)).toEqual(one);
    // The worker runs every part.
    setCallerClaims(false);
    const parts = workerParts();
    expect(train(3)).toEqual(one);
    // Per step at least the first layer's chain and its weight gradient: 2 parts each.
    expect(workerParts() - parts).toBeGreaterThanOrEqual(3 * 4);
  });
});
