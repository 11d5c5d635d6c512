import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignInPlace,
  availableCores,
  compile,
  conv2d,
  getThreads,
  maxPool2d,
  noGrad,
  oneHot,
  Rng,
  randn,
  setThreads,
  type Tensor,
  ThreadError,
  zeros,
} from '../src/index.js';
import { packedGemm } from '../src/kernels/dense.js';
import { gemm } from '../src/kernels/gemm.js';
import { pinnedArray, pointerOf } from '../src/kernels/memory.js';
import { gatherLast, scatterAddLast } from '../src/kernels/pool.js';
import { DONE } from '../src/kernels/thread-worker.js';
import {
  maxParts,
  parallel,
  registerFunction,
  setCallerClaims,
  setChunksPerThread,
  setIdleSpin,
  setParallelThreshold,
  workerParts,
} from '../src/kernels/threads.js';
import { func, get, i32, i32c, i32load, i32store } from '../src/kernels/wasm/emit.js';
import {
  type Geometry,
  wasmConvForward,
  wasmConvTranspose,
  wasmConvWeight,
} from '../src/kernels/wasm-conv.js';

/**
 * Runs `f` on 1 thread and on 2 and returns both results; on 2, the worker
 * runs every chunk (this thread only copies operands in and results out), and
 * the check that it ran some says the products were really cut. On 2 threads
 * `f` also runs with the work cut into 12 and 14 chunks (as 3 threads would
 * cut it, and an odd cut): those results must equal the 8-chunk ones.
 */
function onOneAndTwo(f: () => ArrayLike<number>[], workerOnly = true): [number[][], number[][]] {
  setThreads(1);
  const one = f().map((d) => Array.from(d));
  setThreads(2);
  setCallerClaims(!workerOnly);
  const before = workerParts();
  try {
    const two = f().map((d) => Array.from(d));
    if (workerOnly) expect(workerParts(), 'parts run on a worker').toBeGreaterThan(before);
    for (const perThread of [6, 7]) {
      setChunksPerThread(perThread);
      expect(
        f().map((d) => Array.from(d)),
        `cut into ${2 * perThread} chunks`,
      ).toEqual(two);
    }
    return [one, two];
  } finally {
    setChunksPerThread();
    setCallerClaims(false);
  }
}

beforeAll(() => {
  setParallelThreshold(0); // split even these small products
  setCallerClaims(false);
});
afterAll(() => {
  setParallelThreshold();
  setCallerClaims(true);
  setThreads(availableCores());
});

const floats = (rng: Rng, n: number, density = 1) =>
  Float32Array.from({ length: n }, () => (rng.float() < density ? rng.normal() : 0));

describe('kernels on 1 and 2 threads give the same bits', () => {
  it('this machine has two cores to test with', () => {
    expect(availableCores()).toBeGreaterThanOrEqual(2);
  });

  it('dense GEMM, split by column panels and by row panels', () => {
    const rng = new Rng(7);
    for (const [m, n, k] of [
      [96, 200, 300],
      [300, 12, 700],
      [33, 75, 517],
      [5, 9, 3],
    ] as const) {
      const A = floats(rng, m * k);
      const B = floats(rng, k * n);
      const [one, two] = onOneAndTwo(() => {
        const C = new Float32Array(m * n);
        packedGemm(false, true, m, n, k, A, 0, B, 0, C, 0);
        return [C];
      });
      expect(two).toEqual(one);
    }
  });

  it('zero-skipping A·Bᵀ on mostly-zero rows (a batch of images against a layer, narrow and wide)', () => {
    const rng = new Rng(8);
    for (const [m, n, k] of [
      [1000, 16, 784],
      [261, 40, 300],
      [130, 10, 37],
      [7, 9, 3000],
    ] as const) {
      const A = floats(rng, m * k, 0.2);
      const B = floats(rng, n * k);
      const [one, two] = onOneAndTwo(() => {
        const C = new Float32Array(m * n);
        gemm(false, true, m, n, k, A, 0, B, 0, C, 0);
        return [C];
      });
      expect(two).toEqual(one);
    }
  });

  const base = { sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, groups: 1 };
  const geometries: [string, Omit<Geometry, 'oh' | 'ow'>][] = [
    ['the CNN example, conv 2', { ...base, n: 6, c: 32, h: 13, w: 13, o: 64, kh: 3, kw: 3 }],
    ['19 images: runs of 1 and 2', { ...base, n: 19, c: 1, h: 12, w: 14, o: 8, kh: 5, kw: 5 }],
    ['one image', { ...base, n: 1, c: 8, h: 12, w: 12, o: 16, kh: 5, kw: 5 }],
    ['64 images: tapered runs', { ...base, n: 64, c: 1, h: 12, w: 12, o: 8, kh: 5, kw: 5 }],
    ['padding, odd sizes', { ...base, n: 3, c: 3, h: 7, w: 9, o: 5, kh: 3, kw: 2, ph: 1, pw: 2 }],
    ['groups', { ...base, n: 4, c: 6, h: 8, w: 8, o: 9, kh: 3, kw: 3, groups: 3, ph: 1, pw: 1 }],
    ['strides 2 and 3', { ...base, n: 3, c: 2, h: 11, w: 13, o: 4, kh: 3, kw: 2, sh: 2, sw: 3 }],
  ];
  for (const [name, s] of geometries) {
    it(`convolution forward and both gradients: ${name}`, () => {
      const g: Geometry = {
        ...s,
        oh: Math.floor((s.h + 2 * s.ph - s.dh * (s.kh - 1) - 1) / s.sh) + 1,
        ow: Math.floor((s.w + 2 * s.pw - s.dw * (s.kw - 1) - 1) / s.sw) + 1,
      };
      const rng = new Rng(9);
      const x = floats(rng, g.n * g.c * g.h * g.w);
      const w = floats(rng, (g.o * g.c * g.kh * g.kw) / g.groups);
      const u = floats(rng, g.n * g.o * g.oh * g.ow);
      // Plain arrays are copied in and out; arrays in the kernels' memory (as
      // a compiled plan's are) are read and written in place.
      const run = (make: (n: number) => Float32Array) => () => {
        const [xs, ws, us] = [x, w, u].map((a) => make(a.length).fill(Number.NaN));
        xs!.set(x);
        ws!.set(w);
        us!.set(u);
        const out: Float32Array[] = [];
        const fwd = wasmConvForward(g);
        if (fwd) out.push(make(u.length).fill(Number.NaN));
        fwd?.(out[0]!, xs!, ws!);
        const tr = wasmConvTranspose(g);
        if (tr) {
          out.push(make(x.length).fill(Number.NaN));
          tr(out.at(-1)!, us!, ws!);
        }
        out.push(make(w.length));
        wasmConvWeight(g)!(out.at(-1)!, xs!, us!);
        return out;
      };
      const [one, two] = onOneAndTwo(run((n) => new Float32Array(n)));
      expect(two).toEqual(one);
      const [pinnedOne, pinnedTwo] = onOneAndTwo(run((n) => pinnedArray('float32', n)));
      expect(pinnedOne).toEqual(one);
      expect(pinnedTwo).toEqual(one);
    });
  }
});

describe('parts copied out as they finish', () => {
  it('the workers mark each chunk done where claimChunks, spliced into their source, says', () => {
    // claimChunks names DONE by number (it runs as text in the workers).
    expect(DONE).toBe(1089);
  });

  it('collect runs once per part, after that part ran, on 1 and 2 threads', () => {
    for (const threads of [1, 2]) {
      setThreads(threads);
      const ran: number[] = [];
      const collected: number[] = [];
      let parts = 0;
      parallel(
        1,
        (lane, t, n) => {
          parts = n;
          ran.push(t);
          lane.call('pad', 0, 0, 1, 1, 0, 1, 1, 0, 0); // no planes: nothing written
        },
        (t, n) => {
          expect(n).toBe(parts);
          expect(ran).toContain(t);
          collected.push(t);
        },
      );
      expect(collected.sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, t) => t));
      expect(parts).toBe(threads === 1 ? 1 : 16);
    }
  });
});

/** f(counter, slot): *slot = *counter, then *counter += 1: the order calls ran in. */
const stamp = func('f', 'ii', '', '', (counter, slot) => [
  i32store(get(slot!), i32load(get(counter!))),
  i32store(get(counter!), i32.add(i32load(get(counter!)), i32c(1))),
]);

/** Runs a job of stamping chunks on 2 threads, the worker alone; the order its chunks ran in. */
function claimOrder(): number[] {
  const id = registerFunction(stamp)!;
  const at = pinnedArray('int32', 1 + maxParts());
  const base = pointerOf(at);
  setThreads(2);
  let parts = 0;
  parallel(1, (lane, t, n) => {
    parts = n;
    lane.call(id, base, base + 4 * (1 + t));
  });
  return Array.from(at.subarray(1, 1 + parts));
}

describe('claiming chunks', () => {
  it('workers claim from the last chunk back, as it is published (this thread claims from the first)', () => {
    // Each thread so takes the same end of every job: images one pass wrote
    // are in the cache of the core that reads them in the next.
    const order = claimOrder();
    expect(order).toEqual(Array.from({ length: 16 }, (_, t) => 15 - t));
  });

  it('runs every part once when the calls overflow the control block (those not published, here)', () => {
    setThreads(2);
    const ran = new Array<number>(maxParts()).fill(0);
    const collected = new Array<number>(maxParts()).fill(0);
    // 10,000 calls a part: the control block holds fewer than 100,000.
    parallel(
      1,
      (lane, t) => {
        ran[t]!++;
        for (let i = 0; i < 10000; i++) lane.call('pad', 0, 0, 1, 1, 0, 1, 1, 0, 0);
      },
      (t) => collected[t]!++,
    );
    expect(collected).toEqual(ran.map(() => 1));
    // The first parts did not fit: each was given calls once, then run here.
    expect(ran[0]).toBe(1);
    expect(ran.at(-1)).toBe(1);
    expect(ran.some((n) => n === 2)).toBe(true);
  });

  it('a worker asleep between jobs wakes for the next', async () => {
    const old = setIdleSpin(0); // no polling: asleep as soon as a job ends
    try {
      for (let job = 0; job < 3; job++) {
        await new Promise((done) => setTimeout(done, 5));
        const before = workerParts();
        expect(claimOrder()).toEqual(Array.from({ length: 16 }, (_, t) => 15 - t));
        expect(workerParts()).toBe(before + 16);
      }
    } finally {
      setIdleSpin(old);
    }
  });
});

describe('fused elementwise loops on 1 and 2 threads', () => {
  it('give the same bits as eager: every kind of leaf, several results, an update in place', () => {
    const rng = new Rng(12);
    const x = randn([20, 8, 12, 12], { rng });
    const plane = randn([8, 1, 1], { rng });
    const row = randn([12], { rng });
    const cycle = randn([8, 12, 1], { rng });
    const scale = randn([1], { rng });
    const fn = (m: Tensor) => (x: Tensor, p: Tensor, r: Tensor, c: Tensor, s: Tensor) => {
      const y = x.sub(p).mul(s).add(r).mul(c).relu();
      noGrad(() => assignInPlace(m, m.mul(0.9).add(y.mul(0.1))));
      return [y.mul(y), y.gt(0.5)];
    };
    const run = (compiled: boolean) => {
      const m = randn([20, 8, 12, 12], { rng: new Rng(13) });
      const step = compile(fn(m));
      const f = compiled ? step : fn(m);
      const out: ArrayLike<number>[] = [];
      for (let i = 0; i < 2; i++) {
        const [sq, mask] = f(x, plane, row, cycle, scale) as Tensor[];
        out.push(sq!.data, mask!.data, m.data.slice());
      }
      if (compiled) expect(step.plans()[0]!.simdLoops).toBeGreaterThan(0);
      return out;
    };
    const eager = run(false).map((d) => Array.from(d));
    const [one, two] = onOneAndTwo(() => run(true));
    expect(one).toEqual(eager);
    expect(two).toEqual(one);
  });
});

describe('a fused loop of many operands on 1 and 2 threads', () => {
  it('passes all its pointers (more than the 13 arguments read in place)', () => {
    const rng = new Rng(16);
    const xs = Array.from({ length: 14 }, () => randn([24, 8, 16], { rng }));
    const fn = (...t: Tensor[]) => t.slice(1).reduce((acc, x, i) => acc.add(x.mul(i + 1)), t[0]!);
    const eager = Array.from(fn(...xs).data);
    const [one, two] = onOneAndTwo(() => [compile(fn)(...xs) as Tensor].map((t) => t.data));
    expect(one[0]).toEqual(eager);
    expect(two).toEqual(one);
  });
});

describe('sums around a kept block (batch-norm statistics, conv bias gradients) on 1 and 2 threads', () => {
  it('add each channel in input order in float64, in place or copied: the same bits', () => {
    const rng = new Rng(14);
    for (const [n, c, h, w] of [
      [6, 13, 11, 11],
      [4, 5, 30, 31],
      [3, 2, 5, 7],
      [2, 8, 4, 4],
      // a conv's 8 bias channels: four a call, one call a thread
      [4, 8, 24, 24],
    ] as const) {
      const x = randn([n, c, h, w], { rng }).mul(1e3);
      const pinned = x.pinMemory();
      // Float64 sums in row-major order, rounded once to float32.
      const want = new Float64Array(c);
      for (let i = 0; i < x.size; i++) want[Math.floor(i / (h * w)) % c]! += x.data[i]!;
      // Small sums stay in JavaScript: no part runs on a worker.
      const [one, two] = onOneAndTwo(
        () => [pinned.sum([0, 2, 3], true).data, x.sum([0, 2, 3]).data],
        x.size >= 4096,
      );
      expect(one[0]).toEqual(Array.from(Float32Array.from(want)));
      expect(two).toEqual(one);
    }
  });
});

describe('gather and scatter along the last axis (max pooling and its gradient) on 1 and 2 threads', () => {
  it("in the kernels' memory, give what the plain loops give", () => {
    const rng = new Rng(15);
    const [rows, s, q] = [137, 23, 37];
    const x = floats(rng, rows * s);
    const g = floats(rng, rows * q);
    // Indices with repeats, so the scatter adds several values into one place.
    const idx = Int32Array.from({ length: rows * q }, () => rng.int(s));
    const plain = () => {
      const out = new Float32Array(rows * q);
      gatherLast(x, s, idx, q, rows, out);
      const back = new Float32Array(rows * s).fill(Number.NaN);
      scatterAddLast(g, q, idx, s, rows, back);
      return [out, back];
    };
    const pinned = () => {
      const [px, pg, pidx] = [
        pinnedArray('float32', x.length),
        pinnedArray('float32', g.length),
        pinnedArray('int32', idx.length),
      ];
      px.set(x);
      pg.set(g);
      pidx.set(idx);
      const out = pinnedArray('float32', rows * q).fill(Number.NaN);
      gatherLast(px, s, pidx, q, rows, out);
      const back = pinnedArray('float32', rows * s).fill(Number.NaN);
      scatterAddLast(pg, q, pidx, s, rows, back);
      return [out, back];
    };
    setThreads(1);
    const want = plain().map((d) => Array.from(d));
    const [one, two] = onOneAndTwo(pinned);
    expect(one).toEqual(want);
    expect(two).toEqual(want);
  });
});

describe('max pooling 2×2 on 1 and 2 threads', () => {
  it('gives the same indices, planes cut into runs, ties and NaNs included', () => {
    const rng = new Rng(11);
    for (const [n, c, h, w] of [
      [8, 8, 24, 24],
      [3, 5, 13, 11],
      [1, 1, 4, 6],
    ] as const) {
      const x = randn([n, c, h, w], { rng });
      for (let i = 0; i < x.size; i += 37) x.data[i] = i % 2 ? Number.NaN : x.data[i + 1]!;
      const [one, two] = onOneAndTwo(() => [maxPool2d(x, 2).data]);
      expect(two).toEqual(one);
      // Read in place from the kernels' memory, as in a compiled plan.
      const pinned = x.pinMemory();
      const [pinnedOne, pinnedTwo] = onOneAndTwo(() => [maxPool2d(pinned, 2).data]);
      expect(pinnedOne).toEqual(one);
      expect(pinnedTwo).toEqual(one);
      // The windows' maxima as a plain loop picks them.
      const [oh, ow] = [Math.floor(h / 2), Math.floor(w / 2)];
      const want: number[] = [];
      for (let p = 0; p < n * c; p++) {
        for (let y = 0; y < oh; y++) {
          for (let t = 0; t < ow; t++) {
            let best = Number.NEGATIVE_INFINITY;
            let first = true;
            for (const [i, j] of [
              [0, 0],
              [0, 1],
              [1, 0],
              [1, 1],
            ] as const) {
              const v = x.data[p * h * w + (2 * y + i) * w + 2 * t + j]!;
              if (first || v > best || (Number.isNaN(v) && !Number.isNaN(best))) best = v;
              first = false;
            }
            want.push(best);
          }
        }
      }
      expect(one[0]!.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(
        Array.from(Float32Array.from(want), (v) => (Number.isNaN(v) ? 'NaN' : v)),
      );
    }
  });
});

describe('a compiled training step on 1 and 2 threads', () => {
  it('trains a CNN with batch norm-free conv, pool and dense layers to the same bits', () => {
    const run = () => {
      const rng = new Rng(3);
      const w1 = randn([8, 1, 3, 3], { rng }).mul(0.4).requireGrad();
      const w2 = randn([16, 8, 3, 3], { rng }).mul(0.15).requireGrad();
      const w3 = randn([10, 16 * 4 * 4], { rng })
        .mul(0.05)
        .requireGrad();
      const params = [w1, w2, w3];
      const step = compile((x: Tensor, y: Tensor) => {
        for (const p of params) p.grad = null;
        let h = maxPool2d(conv2d(x, w1).relu(), 2);
        h = maxPool2d(conv2d(h, w2).relu(), 2);
        const logits = h.reshape([x.shape[0]!, 256]).matmul(w3, { transB: true });
        const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
        loss.backward();
        noGrad(() => {
          for (const p of params) assignInPlace(p, p.sub(p.grad!.mul(0.05)));
        });
        return loss;
      });
      const data = new Rng(4);
      for (let s = 0; s < 3; s++) {
        const x = randn([16, 1, 24, 24], { rng: data }).relu();
        const y = zeros([16], { dtype: 'int32' });
        for (let i = 0; i < 16; i++) y.data[i] = data.int(10);
        step(x, y);
      }
      return params.map((p) => p.data);
    };
    const [one, two] = onOneAndTwo(run);
    expect(two).toEqual(one);
    // Chunks shared between the two threads as they come, as outside tests.
    const [, mixed] = onOneAndTwo(run, false);
    expect(mixed).toEqual(one);
  });
});

describe('setThreads', () => {
  it('sets the count getThreads reads', () => {
    setThreads(1);
    expect(getThreads()).toBe(1);
    setThreads(2);
    expect(getThreads()).toBe(2);
  });

  it('refuses a count that is not an integer from 1 to the cores available, naming both', () => {
    const limit = availableCores();
    for (const n of [0, -1, 1.5, Number.NaN, limit + 1]) {
      expect(() => setThreads(n)).toThrow(ThreadError);
      expect(() => setThreads(n)).toThrow(
        `setThreads: ${n} threads is not allowed: an integer from 1 to ${limit}`,
      );
    }
    expect(getThreads()).toBe(2); // unchanged by the refusals
  });
});
