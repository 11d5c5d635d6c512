/**
 * The one WebAssembly memory every kernel module imports (`env.memory`), and
 * the scratch arena the kernels lay their operands out in.
 *
 * Each kernel copies its operands in from byte 0, runs, and copies its
 * result out before the next kernel starts, so one arena, grown to the
 * largest kernel's need, serves all of them: the dense and zero-skipping
 * GEMMs, the convolutions, pooling and every fused elementwise loop. (Each
 * used to own a memory grown to its own peak; a compiled CNN step held a
 * dozen of them.) Where SharedArrayBuffer is available the memory is
 * `shared`, so worker threads instantiate the same modules over the same
 * bytes and compute parts of one product in place.
 */

/** Pages (64 KiB) a kernel memory may grow to: 4 GiB, wasm32's whole range. */
export const MAX_PAGES = 65536;

/**
 * Whether memory can be shared with workers here: SharedArrayBuffer exists
 * (a page must be cross-origin isolated for that) and a shared WebAssembly
 * memory can be made. `SharedArrayBuffer` is read off `globalThis` so a
 * test can take it away.
 */
export function canShare(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  return typeof g.SharedArrayBuffer === 'function' && g.crossOriginIsolated !== false;
}

let memory: WebAssembly.Memory | null | undefined;
let isShared = false;

/**
 * The kernels' memory, made on first use: shared when `canShare()`, else
 * plain. A shared memory must declare its maximum; engines that cannot
 * reserve 4 GiB of address space get the largest of smaller ones they can.
 */
export function kernelMemory(): WebAssembly.Memory | null {
  if (memory !== undefined) return memory;
  memory = null;
  if (typeof WebAssembly !== 'object') return memory;
  const share = canShare();
  for (const maximum of [MAX_PAGES, 16384, 4096]) {
    try {
      memory = new WebAssembly.Memory({ initial: 1, maximum, shared: share });
      isShared = share;
      break;
    } catch {}
  }
  return memory;
}

/** Whether the kernels' memory is shared (workers can compute in it). */
export function memoryShared(): boolean {
  kernelMemory();
  return isShared;
}

/**
 * A kernel module's binary for this memory: `bytes` (base64) declares its
 * memory import shared, and `flagAt` is the byte of that import's limits
 * flag (0x03: shared, with a maximum), turned into 0x01 (a maximum, not
 * shared) where the memory is plain.
 */
export function kernelBinary(bytes: string, flagAt: number): Uint8Array<ArrayBuffer> {
  const binary = Uint8Array.from(atob(bytes), (ch) => ch.charCodeAt(0));
  if (!memoryShared()) binary[flagAt] = 0x01;
  return binary;
}

/** An instance of a kernel module over the kernels' memory. */
export function instantiate(module: WebAssembly.Module): WebAssembly.Instance {
  return new WebAssembly.Instance(module, { env: { memory: kernelMemory()! } });
}

/** Views of the arena that follow the memory as it grows. */
export class Arena {
  f32: Float32Array;
  constructor(readonly memory: WebAssembly.Memory) {
    this.f32 = new Float32Array(memory.buffer);
  }
  /**
   * Makes room for `floats` floats from byte 0 and returns a view of the
   * whole arena. (A shared memory's `buffer` is a new object after it grows,
   * so the view is checked by length, not identity.)
   */
  reserve(floats: number): Float32Array {
    const { memory } = this;
    const need = floats * 4;
    const have = memory.buffer.byteLength;
    if (need > have) memory.grow(Math.ceil((need - have) / 65536));
    if (this.f32.byteLength !== memory.buffer.byteLength)
      this.f32 = new Float32Array(memory.buffer);
    return this.f32;
  }
  /** Bytes the arena holds now: what every kernel's peak grew it to. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }
}

let shared: Arena | null | undefined;

/** The arena every kernel lays its operands out in, or null without WebAssembly. */
export function arena(): Arena | null {
  if (shared === undefined) {
    const m = kernelMemory();
    shared = m ? new Arena(m) : null;
  }
  return shared;
}
