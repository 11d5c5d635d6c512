import { allocate, type DType, Rng, Tensor, type TypedArray } from '@neurite/tensor';
import { FitError } from './errors.js';

/**
 * Anything that yields an epoch's batches as arrays of tensors, such as
 * @neurite/data's `DataLoader`: `length` batches per epoch, `epoch(e)` the
 * batches of epoch e (counted from 0).
 */
export interface BatchLoader {
  readonly length: number;
  readonly batchSize?: number;
  epoch(epoch: number): Iterable<readonly Tensor[]>;
}

/**
 * Samples by index, as @neurite/data's `Dataset`: sample i is a tensor or an
 * array of tensors. Datasets that also have `fields` and `gather` (as
 * `TensorDataset` and `MnistSplit` do) are batched without a tensor per sample.
 */
export interface SampleSource {
  readonly length: number;
  get(i: number): unknown;
  readonly fields?: readonly { readonly shape: readonly number[]; readonly dtype: DType }[];
  gather?(indices: ArrayLike<number>, out: readonly TypedArray[]): void;
}

/** What `fit`, `evaluate` and `predict` take as data: a loader, a dataset, or tensors sharing their first axis (`[x, y]`). */
export type FitData = BatchLoader | SampleSource | readonly Tensor[];

export function isLoader(data: unknown): data is BatchLoader {
  return typeof (data as BatchLoader | null)?.epoch === 'function';
}

function isSource(data: unknown): data is SampleSource {
  const d = data as SampleSource | null;
  return (
    d !== null && typeof d === 'object' && typeof d.get === 'function' && Number.isInteger(d.length)
  );
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** The seed of an epoch's order: the same mix as @neurite/data's `epochSeed`, so both shuffle alike. */
function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1);
  h ^= epoch >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Tensors sharing their first axis as a source that gathers rows. */
function tensorSource(tensors: readonly Tensor[], field: string): SampleSource {
  if (tensors.length === 0 || !tensors.every((t) => t instanceof Tensor && t.ndim >= 1)) {
    throw new FitError(
      `fit: ${field} must be tensors with a first (sample) axis, a dataset or a loader`,
    );
  }
  const n = tensors[0]!.shape[0]!;
  const bad = tensors.findIndex((t) => t.shape[0] !== n);
  if (bad >= 0) {
    throw new FitError(
      `fit: ${field}[0] ${fmt(tensors[0]!.shape)} holds ${n} samples but ${field}[${bad}] ${fmt(tensors[bad]!.shape)} holds ${tensors[bad]!.shape[0]}`,
    );
  }
  const sizes = tensors.map((t) => (n === 0 ? 0 : t.size / n));
  return {
    length: n,
    fields: tensors.map((t) => ({ shape: t.shape.slice(1), dtype: t.dtype })),
    get: (i) =>
      tensors.map(
        (t, k) =>
          new Tensor(t.data.slice(i * sizes[k]!, (i + 1) * sizes[k]!), t.shape.slice(1), t.dtype),
      ),
    gather(indices, out) {
      tensors.forEach((t, k) => {
        const s = sizes[k]!;
        const src = t.data;
        const dst = out[k]!;
        for (let j = 0; j < indices.length; j++) {
          const from = indices[j]! * s;
          if (s === 1) dst[j] = src[from]!;
          else dst.set(src.subarray(from, from + s), j * s);
        }
      });
    },
  };
}

/** The samples `indices` of a source (a validation split). */
function subset(source: SampleSource, indices: Int32Array): SampleSource {
  const mapped = new Int32Array(indices.length);
  const gather = source.gather?.bind(source);
  return {
    length: indices.length,
    ...(source.fields ? { fields: source.fields } : {}),
    get: (i) => source.get(indices[i]!),
    ...(gather
      ? {
          gather(wanted: ArrayLike<number>, out: readonly TypedArray[]) {
            const view = mapped.subarray(0, wanted.length);
            for (let j = 0; j < wanted.length; j++) view[j] = indices[wanted[j]!]!;
            gather(view, out);
          },
        }
      : {}),
  };
}

function sampleTensors(sample: unknown, i: number): Tensor[] {
  if (sample instanceof Tensor) return [sample];
  if (Array.isArray(sample) && sample.every((t) => t instanceof Tensor)) return sample;
  throw new FitError(`fit: sample ${i} of the dataset is not a Tensor or an array of Tensors`);
}

/**
 * A loader over a source: seeded orders (the recipe of @neurite/data's
 * `DataLoader`), batches written into buffers reused from batch to batch.
 */
class SourceLoader implements BatchLoader {
  readonly length: number;
  private buffers: TypedArray[] | undefined;
  private readonly order: Int32Array;

  constructor(
    private readonly source: SampleSource,
    readonly batchSize: number,
    private readonly shuffle: boolean,
    private readonly seed: number,
    dropLast: boolean,
  ) {
    const n = source.length;
    this.length = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    this.order = new Int32Array(n);
  }

  *epoch(epoch: number): Generator<Tensor[]> {
    const { source, order, batchSize } = this;
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle) new Rng(epochSeed(this.seed, epoch)).shuffle(order);
    let fields = source.fields;
    for (let b = 0; b < this.length; b++) {
      const indices = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
      const size = indices.length;
      let samples: Tensor[][] | undefined;
      if (!source.gather || !fields) {
        samples = Array.from(indices, (i) => sampleTensors(source.get(i), i));
        fields ??= samples[0]!.map((t) => ({ shape: t.shape, dtype: t.dtype }));
      }
      const sizes = fields.map((f) => f.shape.reduce((a, c) => a * c, 1));
      this.buffers ??= fields.map((f, k) => allocate(f.dtype, batchSize * sizes[k]!));
      const outs = this.buffers.map((buf, k) => buf.subarray(0, size * sizes[k]!) as TypedArray);
      if (samples) {
        samples.forEach((tensors, j) => {
          tensors.forEach((t, k) => {
            if (t.size !== sizes[k]) {
              throw new FitError(
                `fit: tensor ${k} of sample ${indices[j]} is ${fmt(t.shape)}, but the first sample's is ${fmt(fields![k]!.shape)}`,
              );
            }
            outs[k]!.set(t.data, j * sizes[k]!);
          });
        });
      } else source.gather!(indices, outs);
      yield fields.map((f, k) => new Tensor(outs[k]!, [size, ...f.shape], f.dtype));
    }
  }
}

/** Batches of `data`: a loader as it is, a dataset or tensors batched by the options. */
export function loaderOf(
  data: FitData,
  field: string,
  options: { batchSize: number; shuffle: boolean; seed: number; dropLast: boolean },
): BatchLoader {
  if (isLoader(data)) return data;
  const source = isSource(data)
    ? data
    : Array.isArray(data)
      ? tensorSource(data as Tensor[], field)
      : null;
  if (!source) {
    throw new FitError(
      `fit: ${field} must be a DataLoader, a Dataset or an array of tensors [x, y], got ${String(data)}`,
    );
  }
  return new SourceLoader(
    source,
    options.batchSize,
    options.shuffle,
    options.seed,
    options.dropLast,
  );
}

/** A dataset or tensors split into training and validation parts at random (seeded), as `randomSplit` does. */
export function splitOff(
  data: FitData,
  fraction: number,
  seed: number,
): [SampleSource, SampleSource] {
  if (isLoader(data)) {
    throw new FitError(
      `fit: validation ${fraction} splits a dataset, but data is a loader; pass validation as a dataset or loader of its own`,
    );
  }
  const source = isSource(data) ? data : tensorSource(data as Tensor[], 'data');
  const n = source.length;
  const held = Math.round(n * fraction);
  if (held < 1 || held >= n) {
    throw new FitError(
      `fit: validation ${fraction} of ${n} samples leaves ${held} for validation and ${n - held} for training`,
    );
  }
  const order = new Rng(seed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  return [subset(source, order.slice(held).sort()), subset(source, order.slice(0, held).sort())];
}
