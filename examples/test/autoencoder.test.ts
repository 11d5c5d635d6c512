import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runExample } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'neurite-autoencoder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('autoencoder learns to reconstruct 2,000 embedded digits, reloads and resumes bit-identically', async () => {
  const out = join(dir, 'autoencoder.safetensors');
  const printed = await runExample('autoencoder', [
    '--limit',
    '2000',
    '--epochs',
    '3',
    '--resume',
    '1',
    '--out',
    out,
  ]);
  const final = printed.match(
    /test reconstruction mse ([\d.]+) \(the mean digit: ([\d.]+)\); reloaded: ([\d.]+)/,
  );
  expect(final, printed).not.toBeNull();
  const [trained, meanDigit, reloaded] = [Number(final![1]), Number(final![2]), Number(final![3])];
  // 93 steps already reconstruct test digits better than the mean digit does (about 0.060 against 0.068).
  expect(trained).toBeLessThan(meanDigit);
  expect(reloaded).toBe(trained);
  expect(printed).toMatch(/for 1 epochs: bit-identical to training straight through/);
  expect(existsSync(out)).toBe(true);
});
