import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { gemm } from '../src/kernels/gemm.js';
import { Arena, arena, freePinned, pinnedArray, pointerOf } from '../src/kernels/memory.js';
import { setParallelThreshold, setThreads } from '../src/kernels/threads.js';
import { loopProgram, wasmLoop } from '../src/kernels/wasm-loop.js';
import { interleavedKernelsAgree } from './kernel-memory-cases.js';

const { compile, conv2d, Rng, randn, tensor } = api;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects, and lets the finalizers that free blocks run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0));
    gc();
  }
  await new Promise((r) => setTimeout(r, 0));
}

function sparse(rng: InstanceType<typeof Rng>, size: number, density: number): Float32Array {
  return Float32Array.from({ length: size }, () => (rng.float() < density ? rng.normal() : 0));
}

/** A pinned copy of `x`. */
function pinned(x: Float32Array): Float32Array {
  const p = pinnedArray('float32', x.length);
  p.set(x);
  return p;
}

afterEach(() => {
  setThreads(api.availableCores());
  setParallelThreshold();
});

describe('pinned memory', () => {
  it('pinMemory copies the values into the kernels’ memory, for every dtype', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const t = tensor([1, -2, 3, 4, 5, 6], { dtype, shape: [2, 3] });
      const p = t.pinMemory();
      expect(p.isPinned()).toBe(true);
      expect(t.isPinned()).toBe(false);
      expect(p.dtype).toBe(dtype);
      expect(p.shape).toEqual([2, 3]);
      expect(Array.from(p.data)).toEqual(Array.from(t.data));
      expect(p.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('a tensor made from a view of a pinned tensor keeps its memory alive', async () => {
    let whole: api.Tensor | null = tensor(Float32Array.from({ length: 1000 }, (_, i) => i));
    whole = whole.pinMemory();
    const part = tensor(whole.data.subarray(100, 200));
    expect(part.isPinned()).toBe(true);
    whole = null;
    await collect();
    // Arrays pinned now take freed blocks first: none may land on part's values.
    const others = Array.from({ length: 4 }, () =>
      tensor(new Float32Array(1000).fill(-1)).pinMemory(),
    );
    expect(Array.from(part.data)).toEqual(Array.from({ length: 100 }, (_, i) => i + 100));
    expect(others.every((o) => o.isPinned())).toBe(true);
  });

  it('refuses to wrap a view of a pinned tensor that has been collected', async () => {
    let whole: api.Tensor | null = tensor(new Float32Array(1000)).pinMemory();
    const view = whole.data.subarray(10, 20);
    whole = null;
    await collect();
    expect(() => tensor(view)).toThrow(/freed, because the pinned tensor was collected/);
  });

  it('says what ran out when the kernels’ memory cannot grow', () => {
    const full = {
      buffer: new ArrayBuffer(65536),
      grow() {
        throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
      },
    } as unknown as WebAssembly.Memory;
    const a = new Arena(full);
    expect(a.reserve(16384).length).toBe(16384);
    expect(() => a.reserve(2 ** 28)).toThrow(api.NeuriteError);
    expect(() => a.reserve(2 ** 28)).toThrow(
      /kernels' memory cannot grow from 0\.1 MiB to 1024\.0 MiB \(WebAssembly\.Memory\.grow\(\): Maximum memory size exceeded\).*clear\(\)/,
    );
  });

  it('a view of a pinned array is pinned too; a plain array is not', () => {
    const p = pinnedArray('float32', 100);
    expect(pointerOf(p.subarray(10, 20))).toBe(pointerOf(p) + 40);
    expect(pointerOf(new Float32Array(100))).toBe(-1);
    expect(pointerOf(new Float32Array(new SharedArrayBuffer(400)))).toBe(-1);
  });

  // Each case takes a different kernel: the zero-skipping rows of a batch of
  // images against a layer (A·Bᵀ and A·B, narrow), a weight gradient over it
  // (Aᵀ·B, narrow), the wide A·Bᵀ, and the dense packed kernel.
  const cases: [string, boolean, boolean, number, number, number, number][] = [
    ['images · a layerᵀ', false, true, 64, 16, 784, 0.2],
    ['images · a layer', false, false, 64, 16, 784, 0.2],
    ['an odd batch · a layerᵀ', false, true, 63, 16, 784, 0.2],
    ['images · a layer of 10ᵀ', false, true, 64, 10, 784, 0.2],
    ['gradientᵀ · images', true, false, 16, 784, 64, 0.2],
    ['gradientᵀ · images, over 300 steps of k', true, false, 32, 784, 300, 0.2],
    ['gradientᵀ · images, 20 rows', true, false, 20, 784, 64, 0.2],
    ['activations · a layer', false, false, 64, 32, 16, 1],
    ['images · a wide layerᵀ', false, true, 64, 40, 784, 0.2],
    ['dense', false, false, 48, 40, 100, 1],
    ['dense, Aᵀ·Bᵀ', true, true, 48, 40, 100, 1],
  ];
  for (const threads of [1, 2]) {
    for (const [name, tA, tB, m, n, k, density] of cases) {
      it(`${name}: pinned operands give the plain ones' bits (${threads} thread${threads > 1 ? 's' : ''})`, () => {
        setThreads(Math.min(threads, api.availableCores()));
        setParallelThreshold(0);
        const rng = new Rng(m * n + k);
        const A = sparse(rng, m * k, density);
        const B = Float32Array.from({ length: k * n }, () => rng.normal());
        const plain = new Float32Array(m * n);
        gemm(tA, tB, m, n, k, A, 0, B, 0, plain, 0);
        for (const [a, b, pinC] of [
          [pinned(A), B, false],
          [A, pinned(B), false],
          [pinned(A), pinned(B), false],
          [A, B, true],
          [pinned(A), pinned(B), true],
        ] as const) {
          // A result written in place sits between two guards that must stay NaN.
          const room = pinC ? pinnedArray('float32', m * n + 32) : new Float32Array(m * n + 32);
          room.fill(Number.NaN);
          const C = room.subarray(16, 16 + m * n);
          gemm(tA, tB, m, n, k, a, 0, b, 0, C, 0);
          expect(Array.from(C)).toEqual(Array.from(plain));
          expect([...room.subarray(0, 16), ...room.subarray(16 + m * n)].every(Number.isNaN)).toBe(
            true,
          );
        }
      });
    }
  }

  for (const size of [4096, 4098]) {
    it(`a SIMD loop reads and writes pinned arrays in place, never past their end (${size} elements)`, () => {
      const rng = new Rng(size);
      const x = Float32Array.from({ length: size }, () => rng.normal());
      const y = Float32Array.from({ length: size }, () => rng.normal());
      const program = loopProgram(
        [size],
        [[size], [size]],
        [
          { name: 't0', op: 'mul', args: ['x0', 'x1'], dtype: 'float32' },
          { name: 't1', op: 'add', args: ['t0', 'x0'], dtype: 'float32' },
        ],
        ['t1', 't0'],
      )!;
      const loop = wasmLoop(program)!;
      const [plain, plainProduct] = [new Float32Array(size), new Float32Array(size)];
      loop(plain, [x, y, plainProduct]);
      const room = pinnedArray('float32', 3 * (size + 8)).fill(Number.NaN);
      const part = (i: number) => room.subarray(i * (size + 8) + 4, i * (size + 8) + 4 + size);
      const [out, product] = [part(0), part(1)];
      loop(out, [pinned(x), pinned(y), product]);
      expect(Array.from(out)).toEqual(Array.from(plain));
      expect(Array.from(product)).toEqual(Array.from(plainProduct));
      for (let i = 0; i < 2; i++) {
        const at = i * (size + 8) + 4 + size;
        expect(Array.from(room.subarray(at, at + 8)).every(Number.isNaN)).toBe(true);
      }
    });
  }

  it('reads an operand at its offset within a pinned buffer', () => {
    const rng = new Rng(4);
    const [m, n, k] = [32, 16, 784];
    const A = sparse(rng, 3 * m * k, 0.2);
    const B = Float32Array.from({ length: n * k }, () => rng.normal());
    const plain = new Float32Array(m * n);
    gemm(false, true, m, n, k, A, m * k, B, 0, plain, 0);
    const C = new Float32Array(m * n);
    gemm(false, true, m, n, k, pinned(A), m * k, B, 0, C, 0);
    expect(Array.from(C)).toEqual(Array.from(plain));
  });

  it('a NaN in a pinned batch reaches the outputs it should, as in a plain one', () => {
    const rng = new Rng(9);
    const [m, n, k] = [64, 16, 784];
    const A = sparse(rng, m * k, 0.2);
    A[5 * k + 100] = Number.NaN;
    const B = Float32Array.from({ length: n * k }, () => rng.normal());
    const plain = new Float32Array(m * n);
    gemm(false, true, m, n, k, A, 0, B, 0, plain, 0);
    const C = new Float32Array(m * n);
    gemm(false, true, m, n, k, pinned(A), 0, B, 0, C, 0);
    expect(Array.from(C)).toEqual(Array.from(plain));
    expect(C.slice(5 * n, 6 * n).every(Number.isNaN)).toBe(true);
    expect(C.slice(0, 5 * n).some(Number.isNaN)).toBe(false);
  });

  it('no kernel’s scratch overwrites a pinned array, and kernels give what they give without one', () => {
    const rng = new Rng(11);
    const values = randn([300, 200], { rng });
    const kept = values.pinMemory();
    const before = Array.from(kept.data);
    interleavedKernelsAgree(api);
    // Big enough to grow the scratch region past where it started.
    const a = randn([400, 500], { rng });
    const b = randn([500, 300], { rng });
    const product = a.matmul(b).data;
    expect(Array.from(a.pinMemory().matmul(b.pinMemory()).data)).toEqual(Array.from(product));
    conv2d(randn([8, 3, 32, 32], { rng }), randn([16, 3, 5, 5], { rng }));
    expect(Array.from(kept.data)).toEqual(before);
  });

  it('a compiled step reading a pinned batch gives the plain batch’s bits', () => {
    const rng = new Rng(2);
    const w = randn([16, 784], { rng });
    const b = randn([16], { rng });
    const f = compile((x: api.Tensor) => x.matmul(w.transpose(0, 1)).add(b).relu().sum(-1));
    const x = tensor(sparse(rng, 64 * 784, 0.2), { shape: [64, 784] });
    const plain = f(x).data;
    expect(Array.from(f(x.pinMemory()).data)).toEqual(Array.from(plain));
    expect(Array.from(f(x).data)).toEqual(Array.from(plain));
  });

  it('a pinned array is zero, in memory used before and in memory just grown', () => {
    const first = pinnedArray('float32', 1 << 16).fill(7);
    const at = first.byteOffset;
    freePinned(first);
    const again = pinnedArray('float32', (1 << 16) + (1 << 20));
    expect(again.byteOffset).toBe(at);
    expect(again.every((v) => v === 0)).toBe(true);
    freePinned(again);
  });

  it('frees a pinned array’s memory once the array is collected', async () => {
    const memory = arena()!;
    const floats = 1 << 20; // 4 MiB each
    let sum = 0;
    for (let i = 0; i < 3; i++) tensor(new Float32Array(floats).fill(i)).pinMemory();
    await collect();
    const settled = memory.bytes;
    for (let i = 0; i < 20; i++) {
      const p = pinnedArray('float32', floats);
      p[floats - 1] = i;
      sum += p[floats - 1]!;
      await collect();
    }
    expect(sum).toBe(190);
    // Twenty arrays of 4 MiB, each dropped before the next: the memory grew by
    // at most a few of them, not by all twenty.
    expect(memory.bytes - settled).toBeLessThan(4 * floats * 4);
  });
});
