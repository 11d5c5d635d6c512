// Load time of the full MNIST (60,000 + 10,000, gzipped IDX) with @neurite/data, as one JSON line.
// Run after a build: `pnpm --filter @neurite/data bench`.
// The folder of the four MNIST files: argument 1, else ../shared/datasets/mnist beside the repository.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/node.js', import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  console.error('bench: dist/ is missing; run `pnpm --filter @neurite/data build` first');
  process.exit(1);
}
const { loadMnistDir } = await import(dist.href);

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = process.argv[2] ?? resolve(repoRoot, '../shared/datasets/mnist');
const emit = (line) => console.log(JSON.stringify(line));

/** Median seconds of `rounds` runs of `fn`, the first (cold) run's seconds, and the last result. */
async function time(fn, rounds = 5) {
  const seconds = [];
  let result;
  for (let r = 0; r < rounds; r++) {
    result = undefined;
    globalThis.gc?.();
    const start = performance.now();
    result = await fn();
    seconds.push((performance.now() - start) / 1000);
  }
  const first = seconds[0];
  seconds.sort((a, b) => a - b);
  return { seconds: seconds[Math.floor(rounds / 2)], first, result };
}

if (existsSync(dir)) {
  const { seconds, first, result } = await time(() => loadMnistDir(dir));
  emit({
    impl: 'neurite',
    task: 'load-mnist-full',
    seconds: Number(seconds.toFixed(4)),
    firstSeconds: Number(first.toFixed(4)),
    train: result.train.count,
    test: result.test.count,
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
} else {
  console.error(`bench: no MNIST folder at ${dir}; pass one as the first argument`);
  process.exit(1);
}
