import { type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, FitError, fit, Linear, Module } from '../src/index.js';

/** A linear classifier that notes the batch size of every forward pass, and the mode it ran in. */
class Noting extends Module {
  readonly linear = new Linear(2, 3, { rng: 1 });
  readonly seen: { rows: number; training: boolean }[] = [];
  forward(x: Tensor): Tensor {
    this.seen.push({ rows: x.shape[0]!, training: this.training });
    return this.linear.forward(x);
  }
}

function data(n: number): [Tensor, Tensor] {
  const x = Float32Array.from({ length: 2 * n }, (_, i) => Math.sin(i * 1.7));
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return [tensor(x, { shape: [n, 2] }), tensor(y, { dtype: 'int32' })];
}

describe('fit: memory', () => {
  it('traces the step once per batch shape for the whole run, and validates eagerly at the training batch size', async () => {
    const model = new Noting();
    await fit(model, data(100), {
      loss: 'crossEntropy',
      optimizer: new Adam(model.parameters(), { lr: 0.01 }),
      epochs: 3,
      batchSize: 32, // 32, 32, 32 and a last batch of 4: two shapes
      validation: data(70),
      metrics: ['accuracy'],
    });
    const training = model.seen.filter((s) => s.training).map((s) => s.rows);
    // Compiled: the model runs only while a shape is traced, never on replay.
    expect(training).toEqual([32, 4]);
    const validating = model.seen.filter((s) => !s.training).map((s) => s.rows);
    // First fit's checks of the loss on the first training and validation batches; then 3 epochs of 32, 32, 6.
    expect(validating).toEqual([32, 32, ...[1, 2, 3].flatMap(() => [32, 32, 6])]);
  });

  it('validates at validationBatchSize when given, and refuses one that is not a positive integer', async () => {
    const model = new Noting();
    const options = {
      loss: 'crossEntropy' as const,
      optimizer: new Adam(model.parameters(), { lr: 0.01 }),
      batchSize: 50,
      validation: data(70),
    };
    await fit(model, data(100), { ...options, validationBatchSize: 64 });
    expect(model.seen.filter((s) => !s.training).map((s) => s.rows)).toEqual([50, 64, 64, 6]);
    await expect(fit(model, data(100), { ...options, validationBatchSize: 0 })).rejects.toThrow(
      FitError,
    );
    await expect(fit(model, data(100), { ...options, validationBatchSize: 2.5 })).rejects.toThrow(
      /validationBatchSize must be a positive integer, got 2.5/,
    );
  });
});
