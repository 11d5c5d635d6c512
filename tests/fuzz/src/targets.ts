import { encodeIdx, IdxError, parseIdx } from '@neurite/data';
import {
  buildModel,
  CheckpointError,
  checkpointBytes,
  fromSafetensors,
  type ModelSpec,
  parseSpec,
  restoreCheckpoint,
  SpecError,
  StateDictError,
  toSafetensors,
} from '@neurite/nn';
import { Rng, randn, tensor } from '@neurite/tensor';
// The app's PNG reader, as `mnist-mlp predict` runs it on a user's file.
import { InputError } from '../../../apps/mnist-mlp/src/core/errors.js';
import { decodePng } from '../../../apps/mnist-mlp/src/core/image.js';
import { Raster } from '../../../apps/mnist-mlp/src/core/raster.js';
import { mutateJson } from './mutate.js';

/** A parser under test: valid inputs to mutate, and what it may throw. */
export interface Target {
  name: string;
  seeds: Uint8Array[];
  /** Makes a mutant of a seed (default: byte-level `mutate`). */
  mutate?(seed: Uint8Array, n: number): Uint8Array;
  parse(bytes: Uint8Array): unknown;
  /** The only error classes the parser may throw, whatever the input. */
  errors: readonly (new (
    ...args: never[]
  ) => Error)[];
  /** Checks an accepted mutant; returns what is wrong with accepting it, if anything. */
  accepted?(result: unknown, original: Uint8Array, mutant: Uint8Array): string | null;
}

const text = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function idxSeeds(gzip: boolean): Uint8Array[] {
  const rng = new Rng(7);
  return [
    encodeIdx(
      { dims: [3, 4, 4], data: Uint8Array.from({ length: 48 }, () => rng.int(256)) },
      { gzip },
    ),
    encodeIdx({ dims: [5], data: Int32Array.from([1, -2, 3, 2 ** 30, -(2 ** 31)]) }, { gzip }),
    encodeIdx({ dims: [2, 3], data: Float32Array.from([0.5, -1, 3, 1e30, -0, 7]) }, { gzip }),
    encodeIdx({ dims: [2, 2], data: Float64Array.from([Math.PI, -1, 0, 2]) }, { gzip }),
  ];
}

const sameIdx = (result: unknown, original: Uint8Array): string | null => {
  const got = result as ReturnType<typeof parseIdx>;
  const want = parseIdx(original);
  const same =
    got.type === want.type &&
    got.dims.join() === want.dims.join() &&
    Array.from(got.data).every((v, i) => Object.is(v, want.data[i]));
  return same ? null : 'a corrupted gzip file was read as different data without an error';
};

const tinySpec: ModelSpec = {
  input: [6],
  layers: [
    { type: 'dense', units: 4, activation: 'relu' },
    { type: 'dense', units: 3 },
  ],
};

function pngSeeds(): Uint8Array[] {
  const rng = new Rng(11);
  return [
    [5, 4],
    [28, 28],
    [3, 17],
  ].map(([w, h]) => {
    const r = new Raster(w!, h!);
    for (let i = 0; i < 20; i++)
      r.set(rng.int(w!), rng.int(h!), [rng.int(256), rng.int(256), rng.int(256)]);
    return r.toPng();
  });
}

const sameImage = (result: unknown, original: Uint8Array): string | null => {
  const got = result as ReturnType<typeof decodePng>;
  const want = decodePng(original);
  const same =
    got.width === want.width &&
    got.height === want.height &&
    got.gray.every((v, i) => v === want.gray[i]) &&
    got.alpha.every((v, i) => v === want.alpha[i]);
  return same ? null : 'a corrupted PNG was read as a different image without an error';
};

export const targets: Target[] = [
  {
    name: 'IDX',
    seeds: idxSeeds(false),
    parse: (b) => parseIdx(b, 'fuzz.idx'),
    errors: [IdxError],
  },
  {
    name: 'gzipped IDX',
    seeds: idxSeeds(true),
    parse: (b) => parseIdx(b, 'fuzz.idx.gz'),
    errors: [IdxError],
    // gzip carries a CRC-32: whatever it accepts must be the data that was written.
    accepted: sameIdx,
  },
  {
    name: 'safetensors',
    seeds: [
      toSafetensors({ a: randn([2, 3], { rng: 1 }), 'b.c': tensor([1, 2], { dtype: 'int32' }) }),
      toSafetensors({ x: randn([4], { rng: 2, dtype: 'float64' }) }, { note: 'hi', n: '3' }),
      toSafetensors({}),
    ],
    parse: (b) => fromSafetensors(b, 'fuzz.safetensors'),
    errors: [CheckpointError],
  },
  {
    name: 'model spec (JSON)',
    seeds: [
      text(tinySpec),
      text({ input: [784], layers: [{ type: 'dense', units: 16, activation: 'sigmoid' }] }),
    ],
    // Mutated as JSON values, so that mutants get past JSON.parse to the spec's checks.
    mutate: (seed, n) => mutateJson(JSON.parse(new TextDecoder().decode(seed)), n),
    parse: (b) => parseSpec(JSON.parse(new TextDecoder().decode(b))),
    errors: [SpecError],
  },
  {
    name: 'checkpoint',
    seeds: [checkpointBytes(buildModel(tinySpec, { seed: 1 }), { meta: { epoch: 2 } })],
    parse: (b) => restoreCheckpoint(b, 'fuzz.ckpt'),
    errors: [CheckpointError, SpecError, StateDictError],
  },
  {
    name: 'PNG',
    seeds: pngSeeds(),
    parse: (b) => decodePng(b, 'fuzz.png'),
    errors: [InputError],
    // Every chunk carries a CRC and the image data an Adler-32.
    accepted: sameImage,
  },
];
