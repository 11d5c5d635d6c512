import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors } from '@neurite/nn/node';
import { afterAll, expect, test } from 'vitest';
import { runExample } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'neurite-physics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('physics-informed fit finds sin x, L-BFGS improves on Adam, resumes bit-identically in both phases', async () => {
  const out = join(dir, 'physics.safetensors');
  const printed = await runExample('physics', ['--steps', '300', '--lbfgs', '100', '--out', out]);
  const loss = printed.match(/after Adam ([\d.e+-]+), after (\d+) L-BFGS iterations ([\d.e+-]+)/);
  const error = printed.match(/max \|u − sin\| on \[0, 2π\]: ([\d.e+-]+)/);
  expect(loss, printed).not.toBeNull();
  expect(error, printed).not.toBeNull();
  // L-BFGS takes the loss down by orders of magnitude (about 2e-3 to 1e-5)
  expect(Number(loss![3])).toBeLessThan(Number(loss![1]) / 10);
  expect(Number(loss![2])).toBeGreaterThan(40);
  // and the solution is sin x to within about 1e-3 (sin's own range is ±1).
  expect(Number(error![1])).toBeLessThan(1e-2);
  expect(printed).toMatch(/halfway through Adam and through L-BFGS: bit-identical/);
  // The checkpoint left is the one taken during L-BFGS, after 2 of its 5 steps of 20
  // iterations, with the curvature history the copy resumed from.
  const { tensors, metadata } = await loadSafetensors(out);
  const state = JSON.parse(metadata['neurite.optimizer']!);
  expect(state.type).toBe('LBFGS');
  expect(state.hyper.nIter).toBe(40);
  expect(tensors['optimizer.ro']!.shape[0]).toBeGreaterThan(0);
  expect(tensors['optimizer.oldStps']!.shape).toEqual([tensors['optimizer.ro']!.shape[0], 1153]);
});
