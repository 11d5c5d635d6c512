import type { Tensor } from '@neurite/tensor';
import * as ort from 'onnxruntime-web';

// One thread: the test machine is shared, and a worker pool would outlive the tests.
ort.env.wasm.numThreads = 1;

const ortType = { float32: 'float32', float64: 'float64', int32: 'int32' } as const;

/** Runs ONNX bytes in onnxruntime-web on neurite tensors; returns each output's values and shape. */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, { data: number[]; dims: number[] }>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      inputs[name] = new ort.Tensor(ortType[t.dtype], t.data.slice(), t.shape.slice());
    }
    const results = await session.run(inputs);
    const out: Record<string, { data: number[]; dims: number[] }> = {};
    for (const [name, value] of Object.entries(results)) {
      out[name] = { data: Array.from(value.data as ArrayLike<number>), dims: [...value.dims] };
    }
    return out;
  } finally {
    await session.release();
  }
}

/** The largest absolute difference between two equally long lists of numbers. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/**
 * The largest difference relative to the scale of the expected output:
 * max|a − b| / max(1, max|b|). A float32 dot product's rounding error is
 * proportional to the sizes of its terms, not of its result, so between two
 * correct float32 evaluations (one fusing its multiply-adds, one not) the
 * difference grows with the outputs' magnitude, small outputs included. For
 * outputs up to 1 in magnitude it is the absolute difference.
 */
export function scaledDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxDifference(a, b) / scale;
}
