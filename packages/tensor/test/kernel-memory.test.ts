import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { heap } from '../src/kernels/dense.js';
import { arena, memoryShared } from '../src/kernels/memory.js';
import { interleavedKernelsAgree } from './kernel-memory-cases.js';

describe('the kernels share one memory', () => {
  it('is a shared WebAssembly memory where SharedArrayBuffer exists', () => {
    expect(memoryShared()).toBe(true);
    expect(arena()!.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(heap()!.arena).toBe(arena());
  });

  it('conv, GEMM and fused loops laid out in one arena give what each gives alone', () => {
    interleavedKernelsAgree(api);
  });

  it('grows to the largest kernel, not their sum', () => {
    const { Rng, randn } = api;
    const rng = new Rng(5);
    const a = randn([200, 300], { rng });
    const b = randn([300, 200], { rng });
    a.matmul(b);
    const after = arena()!.bytes;
    for (let i = 0; i < 5; i++) {
      randn([150, 300], { rng }).matmul(b);
      a.matmul(randn([300, 150], { rng }));
    }
    expect(arena()!.bytes).toBe(after);
  });
});
