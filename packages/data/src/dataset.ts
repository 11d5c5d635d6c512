import {
  type DType,
  gatherRows,
  isPinned,
  pinArray,
  Rng,
  Tensor,
  type TypedArray,
} from '@neurite/tensor';
import { DataError } from './errors.js';

/**
 * Anything samples can be drawn from by index: `length` samples, sample `i`
 * from `get(i)` (for `DataLoader`'s default batching: a tensor, or an array
 * of tensors such as `[features, label]`).
 *
 * @example
 * const squares: Dataset<Tensor[]> = {
 *   length: 100,
 *   get: (i) => [tensor([i]), tensor([i * i])],
 * };
 */
export interface Dataset<T = Tensor[]> {
  readonly length: number;
  get(i: number): T;
}

/** The shape and dtype of one tensor of a sample. */
export interface SampleField {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * A dataset that writes many samples straight into batch buffers, without
 * a tensor per sample: what `DataLoader` uses when a dataset offers it
 * (`TensorDataset`, `MnistSplit`, and subsets of either).
 */
export interface GatherDataset extends Dataset<Tensor[]> {
  /** One sample's tensors: their shapes (without the batch axis) and dtypes. */
  readonly fields: readonly SampleField[];
  /** Writes samples `indices` (in order) into `out[k]`, one array per field, sample after sample. */
  gather(indices: ArrayLike<number>, out: readonly TypedArray[]): void;
  /** For image data: [channels, rows, cols] of the first field. */
  readonly imageShape?: readonly [number, number, number];
}

/**
 * Whether `data` offers the batch-filling fast path.
 *
 * @example
 * isGatherDataset(new TensorDataset(x, y)); // true
 */
export function isGatherDataset(data: Dataset<unknown>): data is GatherDataset {
  const d = data as Partial<GatherDataset>;
  return Array.isArray(d.fields) && typeof d.gather === 'function';
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Throws unless `i` indexes one of `length` samples. */
export function checkIndex(name: string, i: number, length: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new DataError(`${name}: index ${i} is outside [0, ${length})`);
  }
}

/**
 * Samples made of tensors that share their first axis, as PyTorch's
 * `TensorDataset`: sample i is `[t0[i], t1[i], …]`. Any dtypes and shapes:
 * features [N, 3] float32 with labels [N] int32, token contexts [N, 8]
 * int32 with next tokens [N], inputs [N, 1] float64 with targets [N, 1].
 * The tensors are not copied; `DataLoader` copies the rows of a batch into
 * its batch buffers.
 *
 * @example
 * const data = new TensorDataset(features, labels); // [N, 3] float32, [N] int32
 * data.length;  // N
 * data.get(0);  // [Tensor [3], Tensor []]
 */
export class TensorDataset implements GatherDataset {
  readonly tensors: readonly Tensor[];
  readonly length: number;
  readonly fields: readonly SampleField[];
  private readonly sizes: number[];
  /** Each tensor's values in the kernels' memory (`pinArray`), once a gather into a pinned buffer asked. */
  private readonly pinned: (TypedArray | undefined)[];

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new DataError('TensorDataset: needs at least one tensor');
    tensors.forEach((t, k) => {
      if (!(t instanceof Tensor)) {
        throw new DataError(`TensorDataset: argument ${k} is not a Tensor`);
      }
      if (t.ndim === 0) {
        throw new DataError(
          `TensorDataset: tensor ${k} is a scalar; every tensor needs a first (sample) axis`,
        );
      }
    });
    const length = tensors[0]!.shape[0]!;
    const bad = tensors.findIndex((t) => t.shape[0] !== length);
    if (bad >= 0) {
      throw new DataError(
        `TensorDataset: tensor 0 ${fmt(tensors[0]!.shape)} holds ${length} samples but tensor ${bad} ${fmt(tensors[bad]!.shape)} holds ${tensors[bad]!.shape[0]}; every tensor needs the same first axis`,
      );
    }
    this.tensors = tensors;
    this.length = length;
    this.fields = tensors.map((t) => ({ shape: t.shape.slice(1), dtype: t.dtype }));
    this.sizes = tensors.map((t) => (length === 0 ? 0 : t.size / length));
    this.pinned = tensors.map(() => undefined);
  }

  /** Sample `i`: one tensor per dataset tensor, row `i` of each (copies). */
  get(i: number): Tensor[] {
    checkIndex('TensorDataset.get', i, this.length);
    return this.tensors.map((t, k) => {
      const s = this.sizes[k]!;
      return new Tensor(t.data.slice(i * s, (i + 1) * s), t.shape.slice(1), t.dtype);
    });
  }

  /**
   * Writes rows `indices` of every tensor into `out[k]`, one array per
   * tensor. Into a pinned `out[k]` (a `DataLoader` with `pinMemory`), the
   * first call copies tensor k's values into the kernels' memory once
   * (`pinArray`: they are then held twice) and every call copies the rows
   * there with a WebAssembly kernel (`gatherRows`); where nothing can be
   * pinned, and into plain arrays, JavaScript does, with the same bits.
   */
  gather(indices: ArrayLike<number>, out: readonly TypedArray[]): void {
    for (let k = 0; k < this.tensors.length; k++) {
      const s = this.sizes[k]!;
      if (s === 0) continue;
      const dst = out[k]!;
      let src = this.tensors[k]!.data;
      if (isPinned(dst)) src = this.pinned[k] ??= pinArray(src);
      gatherRows(src, s, indices, dst);
    }
  }
}

/**
 * The samples `indices` of `dataset`, as PyTorch's `Subset`: nothing is
 * copied, and it keeps its dataset's batch-filling fast path.
 *
 * @example
 * const firstHundred = new Subset(data, Int32Array.from({ length: 100 }, (_, i) => i));
 */
export class Subset<T = Tensor[]> implements Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: Int32Array;
  readonly fields?: readonly SampleField[];
  readonly imageShape?: readonly [number, number, number];
  readonly gather?: (indices: ArrayLike<number>, out: readonly TypedArray[]) => void;

  constructor(dataset: Dataset<T>, indices: ArrayLike<number>) {
    const own = Int32Array.from(indices);
    own.forEach((i) => {
      checkIndex('Subset', i, dataset.length);
    });
    this.dataset = dataset;
    this.indices = own;
    if (isGatherDataset(dataset as Dataset<unknown>)) {
      const base = dataset as unknown as GatherDataset;
      this.fields = base.fields;
      if (base.imageShape) this.imageShape = base.imageShape;
      let mapped = new Int32Array(0);
      this.gather = (wanted, out) => {
        if (mapped.length < wanted.length) mapped = new Int32Array(wanted.length);
        const view = mapped.subarray(0, wanted.length);
        for (let j = 0; j < wanted.length; j++) view[j] = own[wanted[j]!]!;
        base.gather(view, out);
      };
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(i: number): T {
    checkIndex('Subset.get', i, this.indices.length);
    return this.dataset.get(this.indices[i]!);
  }
}

/**
 * Splits a dataset at random into non-overlapping subsets, as PyTorch's
 * `random_split`: `lengths` are sample counts summing to the dataset's
 * length, or fractions summing to 1 (the samples left over by rounding
 * down go one each to the first subsets). The same seed gives the same split.
 *
 * @example
 * const [train, val] = randomSplit(data, [0.9, 0.1], { seed: 1 });
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  { seed = 0 }: { seed?: number } = {},
): Subset<T>[] {
  const n = dataset.length;
  if (lengths.length === 0) throw new DataError('randomSplit: lengths is empty');
  if (lengths.some((l) => !Number.isFinite(l) || l < 0)) {
    throw new DataError(`randomSplit: lengths must be non-negative numbers, got [${lengths}]`);
  }
  const total = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (lengths.every(Number.isInteger) && total === n) {
    counts = lengths.slice();
  } else if (Math.abs(total - 1) < 1e-9 && lengths.every((l) => l <= 1)) {
    counts = lengths.map((f) => Math.floor(f * n));
    let left = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; left > 0; i = (i + 1) % counts.length, left--) counts[i]! += 1;
  } else {
    throw new DataError(
      `randomSplit: lengths [${lengths}] sum to ${total}: give counts summing to the dataset's ${n} samples or fractions summing to 1`,
    );
  }
  if (!Number.isInteger(seed))
    throw new DataError(`randomSplit: seed must be an integer, got ${seed}`);
  const order = new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const parts: Subset<T>[] = [];
  let start = 0;
  for (const c of counts) {
    parts.push(new Subset(dataset, order.subarray(start, start + c)));
    start += c;
  }
  return parts;
}
