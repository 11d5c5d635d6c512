import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runExample } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'neurite-logistic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('logistic regression recovers the rule, reloads and resumes bit-identically', async () => {
  const out = join(dir, 'lr.safetensors');
  const printed = await runExample('logistic-regression', [
    '--samples',
    '1000',
    '--epochs',
    '3',
    '--resume',
    '1',
    '--out',
    out,
  ]);
  const w = printed.match(/learned w = \[([-\d.]+), ([-\d.]+)\], b = ([-\d.]+)/);
  const acc = printed.match(
    /test accuracy ([\d.]+)% \(the true rule: ([\d.]+)%\); reloaded from .*: ([\d.]+)%/,
  );
  expect(w, printed).not.toBeNull();
  expect(acc, printed).not.toBeNull();
  // The true rule is w = [2, -3], b = 0.5; 3 epochs on 800 points get the signs and rough sizes.
  expect(Number(w![1])).toBeGreaterThan(0.5);
  expect(Number(w![2])).toBeLessThan(-0.5);
  // Labels are noisy (the true rule itself scores about 85%): within 5 points of it, far above chance.
  expect(Number(acc![1])).toBeGreaterThan(Number(acc![2]) - 5);
  expect(acc![3]).toBe(acc![1]); // the model reloaded from the checkpoint scores the same
  expect(printed).toMatch(/for 1 epochs: bit-identical to training straight through/);
  expect(existsSync(out)).toBe(true);
});
