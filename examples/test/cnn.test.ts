import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runExample } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'neurite-cnn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('cnn trains on 1,024 embedded digits, saves, reloads to the same accuracy and resumes bit-identically', async () => {
  const out = join(dir, 'cnn.safetensors');
  const printed = await runExample('cnn', ['--limit', '1024', '--epochs', '1', '--out', out]);
  expect(printed).toMatch(/conv2d/i); // the summary of the spec-built model
  const final = printed.match(/test accuracy ([\d.]+)%; reloaded from .*: ([\d.]+)%/);
  expect(final, printed).not.toBeNull();
  const [trained, reloaded] = [Number(final![1]), Number(final![2])];
  // 16 steps on 1,024 images are far from 99% (about 60%), but far above chance (10%).
  expect(trained).toBeGreaterThan(40);
  expect(reloaded).toBe(trained);
  expect(printed).toMatch(/resumed from .* for 1 epoch\(s\): bit-identical in both copies/);
  expect(existsSync(out)).toBe(true);
});
