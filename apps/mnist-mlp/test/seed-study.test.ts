import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeGlyphMnist } from './fixtures.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '../scripts/seed-study.mjs');
/** The script's exit code and output. */
const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  promisify(execFile)(process.execPath, [script, ...args]).then(
    (out) => ({ code: 0, ...out }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mnist-mlp-seeds-'));
  await writeGlyphMnist(join(dir, 'data'), { train: 600, test: 200 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('trains one run per seed (the built CLI) and gives their mean and sample standard deviation', async () => {
  const args = ['--recipe', 'modern', '--seeds', '1,2,1', '--epochs', '8'];
  const out = await run([...args, '--data', join(dir, 'data'), '--json']);
  const study = JSON.parse(out.stdout.trim());
  expect(study.runs.map((r: { seed: number }) => r.seed)).toEqual([1, 2, 1]);
  const acc = study.runs.map((r: { test_accuracy: number }) => r.test_accuracy);
  for (const a of acc) expect(a).toBeGreaterThan(0.3); // well above chance (0.1) on the glyph digits
  expect(acc[2]).toBe(acc[0]); // a seed's run is deterministic
  const mean = (acc[0] + acc[1] + acc[2]) / 3;
  expect(study.mean).toBeCloseTo(mean, 12);
  const variance = acc.reduce((s: number, a: number) => s + (a - mean) ** 2, 0) / 2;
  expect(study.std).toBeCloseTo(Math.sqrt(variance), 12);
  expect(out.stderr).toMatch(/^seed 1: [\d.]+%\nseed 2: [\d.]+%\nseed 1: [\d.]+%\n$/);
});

it('refuses a run without data, and says which seed failed', async () => {
  const missing = await run(['--seeds', '1-2']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--data DIR .* is required/);
  const failed = await run(['--seeds', '3-3', '--data', join(dir, 'nowhere')]);
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toMatch(/seed 3: exit 2/);
});
