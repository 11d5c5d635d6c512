import { describe, expect, it } from 'vitest';
import {
  allocate,
  DTypeError,
  gatherRows,
  IndexError,
  isPinned,
  pinArray,
  Rng,
  ShapeError,
} from '../src/index.js';
import { rowKernels } from '../src/kernels/rows.js';

/** Rows `indices` of `source` gathered by a plain loop: what gatherRows must write. */
function reference(
  source: ArrayLike<number>,
  rowLength: number,
  indices: ArrayLike<number>,
  scale: (v: number) => number = (v) => v,
): number[] {
  const out: number[] = [];
  for (const i of Array.from(indices))
    for (let k = 0; k < rowLength; k++) out.push(scale(source[i * rowLength + k]!));
  return out;
}

const rng = new Rng(7);
const randomIndices = (n: number, rows: number) =>
  Int32Array.from({ length: n }, () => Math.floor(rng.float() * rows));

describe('gatherRows', () => {
  it('the kernels are made here (WebAssembly SIMD over a shared memory)', () => {
    expect(rowKernels()).not.toBeNull();
  });

  it('scales every byte value as b / 255 rounded to float32, in the kernel and in JavaScript', () => {
    // 256 rows of one byte value each, 33 bytes wide: two SIMD steps and a byte-at-a-time tail.
    const width = 33;
    const bytes = new Uint8Array(256 * width);
    for (let b = 0; b < 256; b++) bytes.fill(b, b * width, (b + 1) * width);
    const order = Int32Array.from({ length: 256 }, (_, i) => 255 - i);
    const expected = Float32Array.from(reference(bytes, width, order, (b) => b / 255));
    for (let b = 0; b < 256; b++) expect(expected[(255 - b) * width]).toBe(Math.fround(b / 255));

    const pinnedBytes = pinArray(bytes);
    const pinnedOut = allocate('float32', 256 * width, { pinMemory: true });
    expect(isPinned(pinnedBytes) && isPinned(pinnedOut)).toBe(true);
    gatherRows(pinnedBytes, width, order, pinnedOut);
    expect(new Uint32Array(pinnedOut.buffer, pinnedOut.byteOffset, pinnedOut.length)).toEqual(
      new Uint32Array(expected.buffer),
    );

    // The kernel itself, not only whichever path gatherRows took.
    pinnedOut.fill(0);
    const pinnedOrder = pinArray(order);
    rowKernels()!.bytes(
      pinnedBytes.byteOffset,
      width,
      pinnedOrder.byteOffset,
      256,
      pinnedOut.byteOffset,
    );
    expect(new Uint32Array(pinnedOut.buffer, pinnedOut.byteOffset, pinnedOut.length)).toEqual(
      new Uint32Array(expected.buffer),
    );

    const plainOut = new Float32Array(256 * width);
    gatherRows(bytes, width, order, plainOut);
    expect(new Uint32Array(plainOut.buffer)).toEqual(new Uint32Array(expected.buffer));
  });

  it('gathers rows of every type and width the same pinned or not, indices pinned or not', () => {
    const cases: [string, (n: number) => Float32Array | Float64Array | Int32Array | Uint8Array][] =
      [
        ['float32', (n) => Float32Array.from({ length: n }, () => rng.normal())],
        ['float64', (n) => Float64Array.from({ length: n }, () => rng.normal())],
        ['int32', (n) => Int32Array.from({ length: n }, () => Math.floor(rng.float() * 2 ** 31))],
        ['uint8', (n) => Uint8Array.from({ length: n }, () => Math.floor(rng.float() * 256))],
      ];
    for (const [kind, make] of cases) {
      for (const width of [1, 3, 16, 100, 784]) {
        const rows = 70;
        const source = make(rows * width);
        const n = Math.max(2, Math.ceil(1100 / width)); // above the kernel's threshold
        const order = randomIndices(n, rows);
        const want = reference(source, width, order);
        const pinnedSource = pinArray(source);
        expect(pinnedSource).not.toBe(source);
        expect(Array.from(pinnedSource)).toEqual(Array.from(source));
        const pinnedOrder = pinArray(order);
        for (const idx of [order, pinnedOrder, Array.from(order)]) {
          const out = allocate(kind === 'uint8' ? 'int32' : (kind as 'float32'), n * width, {
            pinMemory: true,
          });
          if (kind === 'uint8') {
            const bytesOut = pinArray(new Uint8Array(n * width));
            gatherRows(pinnedSource, width, idx, bytesOut);
            expect(Array.from(bytesOut), `${kind} × ${width}`).toEqual(want);
          } else {
            gatherRows(pinnedSource, width, idx, out);
            expect(Array.from(out), `${kind} × ${width}`).toEqual(want);
          }
        }
        const plain = new (source.constructor as Uint8ArrayConstructor)(n * width);
        gatherRows(source, width, order, plain);
        expect(Array.from(plain)).toEqual(want);
      }
    }
  });

  it('leaves the rest of a longer out alone', () => {
    const source = pinArray(Float32Array.from({ length: 40 * 64 }, (_, i) => i));
    const out = allocate('float32', 40 * 64, { pinMemory: true }).fill(-1);
    gatherRows(source, 64, [3, 1], out);
    expect(Array.from(out.subarray(0, 128))).toEqual(reference(source, 64, [3, 1]));
    expect(out.subarray(128).every((v) => v === -1)).toBe(true);
  });

  it('refuses a bad index, shape or type, saying which', () => {
    const source = new Float32Array(12);
    const out = new Float32Array(8);
    expect(() => gatherRows(source, 4, [0, 3], out)).toThrow(IndexError);
    expect(() => gatherRows(source, 4, [0, 3], out)).toThrow(
      'gatherRows: indices[1] is 3, not a row of source [3, 4]',
    );
    expect(() => gatherRows(source, 4, [0, -1], out)).toThrow(IndexError);
    expect(() => gatherRows(source, 4, [0, 1.5], out)).toThrow(IndexError);
    expect(() => gatherRows(source, 5, [0], out)).toThrow(ShapeError);
    expect(() => gatherRows(source, 4, [0, 1, 2], out)).toThrow(
      'gatherRows: out holds 8 elements, but 3 rows of 4 need 12',
    );
    expect(() => gatherRows(source, 4, [0], new Int32Array(4))).toThrow(DTypeError);
    expect(() => gatherRows(new Uint8Array(4), 4, [0], new Float64Array(4))).toThrow(
      /cannot write rows of a Uint8Array into a Float64Array/,
    );
    expect(() => pinArray([1, 2] as unknown as Float32Array)).toThrow(DTypeError);
  });

  it('allocate makes pinned bytes, zero-filled, that pinArray leaves where they are', () => {
    const bytes = allocate('uint8', 1000, { pinMemory: true });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(isPinned(bytes)).toBe(true);
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(pinArray(bytes)).toBe(bytes);
    const plain = allocate('uint8', 10);
    expect(plain).toBeInstanceOf(Uint8Array);
    expect(isPinned(plain)).toBe(false);
  });

  it('pinArray leaves a pinned or empty array as it is', () => {
    const pinned = allocate('float32', 8, { pinMemory: true });
    expect(pinArray(pinned)).toBe(pinned);
    const empty = new Uint8Array(0);
    expect(pinArray(empty)).toBe(empty);
    expect(isPinned(new Uint8Array(3))).toBe(false);
  });
});
