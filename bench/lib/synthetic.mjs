// The stand-in for MNIST when the real files are absent: the same shapes and
// about the same sparsity (~80% zero pixels), written as IDX files so every
// implementation loads it exactly as it would load MNIST.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { hasMnist, MNIST_FILES, writeIdx } from './idx.mjs';

const ZERO_FRACTION = 0.8;

/** Writes (once; reused after) a synthetic 60,000 + 10,000 set under `root` and returns its folder. */
export function ensureSyntheticMnist(root, seed, Rng) {
  const dir = join(root, `neurite-bench-synthetic-seed${seed}`);
  if (hasMnist(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const rng = new Rng(seed);
  const images = (count) => {
    const data = new Uint8Array(count * 784);
    for (let i = 0; i < data.length; i++) {
      data[i] = rng.float() < ZERO_FRACTION ? 0 : 1 + rng.int(255);
    }
    return data;
  };
  const labels = (count) => Uint8Array.from({ length: count }, () => rng.int(10));
  writeIdx(join(tmp, `${MNIST_FILES.trainImages}.gz`), [60000, 28, 28], images(60000));
  writeIdx(join(tmp, `${MNIST_FILES.trainLabels}.gz`), [60000], labels(60000));
  writeIdx(join(tmp, `${MNIST_FILES.testImages}.gz`), [10000, 28, 28], images(10000));
  writeIdx(join(tmp, `${MNIST_FILES.testLabels}.gz`), [10000], labels(10000));
  // Renamed into place only when complete, so an interrupted run is not reused.
  if (!existsSync(dir)) renameSync(tmp, dir);
  return dir;
}
