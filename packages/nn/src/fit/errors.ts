import { NeuriteError } from '@neurite/tensor';

/**
 * A `fit` configuration that cannot work, refused before the first step:
 * the message names the field and the value (`fit: validation must be a
 * fraction in (0, 1) or a dataset, got 1.5`).
 *
 * @example
 * await fit(model, data, { loss: 'crossEntropy', optimizer, metrics: ['acuracy'] });
 * // FitError: fit: metrics[0] 'acuracy' is not a metric (known: accuracy, …)
 */
export class FitError extends NeuriteError {
  override name = 'FitError';
}

/**
 * Training that went wrong on the way, such as a loss that became NaN or
 * infinite: `epoch` and `batch` (both counted from 1) say where.
 *
 * @example
 * try { await fit(model, data, options); }
 * catch (e) { if (e instanceof TrainingError) console.log(e.epoch, e.batch, e.loss); }
 */
export class TrainingError extends NeuriteError {
  override name = 'TrainingError';
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;

  constructor(
    message: string,
    { epoch, batch, loss }: { epoch: number; batch: number; loss: number },
  ) {
    super(message);
    this.epoch = epoch;
    this.batch = batch;
    this.loss = loss;
  }
}
