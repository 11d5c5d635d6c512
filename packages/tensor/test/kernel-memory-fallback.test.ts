import { afterAll, describe, expect, it, vi } from 'vitest';
import { interleavedKernelsAgree } from './kernel-memory-cases.js';

// A page without cross-origin isolation has no SharedArrayBuffer. This file's
// modules are loaded fresh after taking it away, and it stays away while they run.
const saved = globalThis.SharedArrayBuffer;
// biome-ignore lint/suspicious/noExplicitAny: simulating a runtime without the global
delete (globalThis as any).SharedArrayBuffer;
const api = await import('../src/index.js');
const { arena, memoryShared } = await import('../src/kernels/memory.js');
afterAll(() => {
  globalThis.SharedArrayBuffer = saved;
});

describe('without SharedArrayBuffer', () => {
  it('runs on one thread and says so once (the first product asks)', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      api.setThreads(2);
      expect(api.getThreads()).toBe(1);
      interleavedKernelsAgree(api);
      api.setThreads(2);
      expect(api.getThreads()).toBe(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(
        /one thread: SharedArrayBuffer is unavailable .*Cross-Origin-Opener-Policy: same-origin/,
      );
    } finally {
      warn.mockRestore();
    }
  });
  it('the kernels import a plain memory and compute the same', () => {
    expect(memoryShared()).toBe(false);
    expect(arena()!.memory.buffer).toBeInstanceOf(ArrayBuffer);
    interleavedKernelsAgree(api);
  });
});
