/**
 * The one WebAssembly memory every kernel module imports (`env.memory`), and
 * the scratch arena the kernels lay their operands out in.
 *
 * Each kernel copies its operands in from the scratch start (`Arena.start`:
 * pinned blocks sit below it), runs, and copies its result out before the
 * next kernel starts, so one arena, grown to the largest kernel's need,
 * serves all of them: the dense and zero-skipping
 * GEMMs, the convolutions, pooling and every fused elementwise loop. (Each
 * used to own a memory grown to its own peak; a compiled CNN step held a
 * dozen of them.) Where SharedArrayBuffer is available the memory is
 * `shared`, so worker threads instantiate the same modules over the same
 * bytes and compute parts of one product in place.
 */

import { NeuriteError } from '../errors.js';
import { MAX_PAGES } from './wasm/emit.js';

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

/** An instance of a kernel module over the kernels' memory. */
export function instantiate(module: WebAssembly.Module): WebAssembly.Instance {
  return new WebAssembly.Instance(module, { env: { memory: kernelMemory()! } });
}

/** Views of the arena that follow the memory as it grows. */
export class Arena {
  f32: Float32Array;
  /**
   * The first float of the scratch region. Blocks (`pin`) sit below it, so a
   * kernel lays its regions out from here, never from byte 0.
   */
  start = 0;
  constructor(readonly memory: WebAssembly.Memory) {
    this.f32 = new Float32Array(memory.buffer);
    seen.add(memory.buffer);
  }
  /**
   * Makes room for `floats` floats from byte 0 (an end offset, `start`
   * included) and returns a view of the whole arena. (A shared memory's
   * `buffer` is a new object after it grows, so the view is checked by
   * length, not identity.)
   */
  reserve(floats: number): Float32Array {
    const { memory } = this;
    const need = floats * 4;
    const have = memory.buffer.byteLength;
    if (need > have) {
      try {
        memory.grow(Math.ceil((need - have) / 65536));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
        throw new NeuriteError(
          `the WebAssembly kernels' memory cannot grow from ${mib(have)} to ${mib(need)} (${e.message}): pinned tensors and compiled plans live there, so let go of pinned tensors you no longer use and call clear() on compiled functions you are done with`,
        );
      }
    }
    if (this.f32.byteLength !== memory.buffer.byteLength) {
      this.f32 = new Float32Array(memory.buffer);
      seen.add(memory.buffer);
    }
    return this.f32;
  }
  /** Bytes the arena holds now: every block and what every kernel's peak grew it to. */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }
}

/** Every `buffer` the shared memory has had: views of any of them are views of the kernels' memory. */
const seen = new WeakSet<ArrayBufferLike>();

let shared: Arena | null | undefined;

/** The arena every kernel lays its operands out in, or null without WebAssembly. */
export function arena(): Arena | null {
  if (shared === undefined) {
    const m = kernelMemory();
    shared = m ? new Arena(m) : null;
  }
  return shared;
}

// ---- blocks: arrays that live in the kernels' memory ------------------------

/** Blocks' byte offsets are multiples of this: a cache line. */
const BLOCK_ALIGN = 64;

/** The blocks in use, by offset: [at, bytes], in order. */
const used: [number, number][] = [];

/**
 * Bytes at `at` in the kernels' memory that no kernel's scratch touches until
 * `release`: the first gap among the blocks that fits, else the top, which
 * moves the scratch region up (kernels lay it out anew at every call).
 * −1, with nothing changed, when the memory cannot grow to hold them.
 */
function claim(bytes: number): number {
  const a = arena()!;
  const size = Math.max(BLOCK_ALIGN, Math.ceil(bytes / BLOCK_ALIGN) * BLOCK_ALIGN);
  let at = 0;
  let k = 0;
  for (; k < used.length; k++) {
    const [from, length] = used[k]!;
    if (at + size <= from) break;
    at = from + length;
  }
  const top = used[used.length - 1];
  const end = Math.max(top ? top[0] + top[1] : 0, at + size);
  try {
    a.reserve(end / 4);
  } catch (e) {
    if (e instanceof NeuriteError) return -1;
    throw e;
  }
  used.splice(k, 0, [at, size]);
  a.start = end / 4;
  return at;
}

/** Bytes of the kernels' memory held by pinned blocks now (plan arenas included). */
export function pinnedBytes(): number {
  return used.reduce((sum, [, bytes]) => sum + bytes, 0);
}

function release(at: number): void {
  const k = used.findIndex(([from]) => from === at);
  if (k < 0) return;
  used.splice(k, 1);
  owners.delete(at);
  const top = used[used.length - 1];
  arena()!.start = top ? (top[0] + top[1]) / 4 : 0;
}

/** Each block's own array, by offset: what a part of the block must keep alive. */
const owners = new Map<number, WeakRef<ArrayBufferView>>();

/** For each view of part of a block that a tensor holds, the block's own array (kept alive by it). */
const holders = new WeakMap<ArrayBufferView, ArrayBufferView>();

/** Frees a block once the array it was made for is collected. */
const blocks =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<number>(release) : null;

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;
export type ArrayKind = keyof typeof ARRAYS;

/**
 * A zero-filled array of `length` elements living in the kernels' memory,
 * where the GEMMs read it in place instead of copying it in; its memory is
 * freed once the array is collected. Where the memory is not shared (it
 * could not grow without detaching the array), blocks cannot be freed, or
 * the memory is full (4 GiB, or the engine's limit), a plain array: the
 * same values, read through copies.
 */
export function pinnedArray<K extends ArrayKind>(
  kind: K,
  length: number,
): InstanceType<(typeof ARRAYS)[K]> {
  const View = ARRAYS[kind] as unknown as new (
    ...args: [ArrayBufferLike, number, number] | [number]
  ) => InstanceType<(typeof ARRAYS)[K]>;
  if (!memoryShared() || !blocks || length === 0) return new View(length);
  // Memory the claim grows is zero already: only the part below the old end may hold old values.
  const grownFrom = arena()!.bytes;
  const at = claim(length * View.prototype.BYTES_PER_ELEMENT);
  if (at < 0) return new View(length);
  const view = new View(arena()!.memory.buffer, at, length);
  if (at < grownFrom)
    view.fill(0, 0, Math.ceil((grownFrom - at) / View.prototype.BYTES_PER_ELEMENT));
  blocks.register(view, at, view);
  owners.set(at, new WeakRef(view));
  return view;
}

/**
 * Frees the block of `view`, a pinned array that nothing will read again,
 * now rather than at the next collection: the collector cannot see the
 * kernels' memory, so it may not come before dropped blocks have used it up.
 */
export function freePinned(view: ArrayBufferView): void {
  if (blocks?.unregister(view)) release(view.byteOffset);
}

/**
 * Ties `x`, a view of part of a pinned array (`data.subarray(...)` of a
 * pinned tensor) that a tensor is about to hold, to that array, so the block
 * outlives every tensor reading it in place. Nothing for other arrays.
 * Throws when the block `x` points into is already freed: its memory may
 * hold another array's values by now.
 */
export function holdBlock(x: ArrayBufferView): void {
  const at = pointerOf(x);
  if (at < 0) return;
  const block = used.find(([from, bytes]) => from <= at && at + x.byteLength <= from + bytes);
  const owner = block && owners.get(block[0])?.deref();
  if (!owner) {
    throw new NeuriteError(
      `tensor: this array is a view of a pinned tensor's memory (bytes ${at} to ${at + x.byteLength} of the kernels' memory) that has been freed, because the pinned tensor was collected; keep the pinned tensor alive while its views are used`,
    );
  }
  if (owner !== x) holders.set(x, owner);
}

/**
 * The byte offset in the kernels' memory of `x[0]`, when `x` is a view of
 * that memory (a pinned array, or a part of one); else −1.
 */
export function pointerOf(x: ArrayBufferView): number {
  return seen.has(x.buffer) ? x.byteOffset : -1;
}
