/** What one epoch measured: `loss` and each metric on the training batches, `val…` on the validation data, the learning rate at its end. */
export interface EpochLogs {
  /** The epoch, counted from 1. */
  epoch: number;
  /** Mean training loss over the epoch's batches (weighted by their sizes). */
  loss: number;
  /** The learning rate after the epoch's last step. */
  lr: number;
  /** Wall time of the epoch, validation included. */
  seconds: number;
  /** Metrics by name (`accuracy`, `valLoss`, `valAccuracy`, …); callbacks may add their own. */
  [name: string]: number;
}

/**
 * What `fit` returns: every epoch's logs, also by name as Keras's
 * `history.history` (`history.history.valAccuracy[3]`), and whether and
 * why training stopped before its last epoch.
 *
 * @example
 * const history = await fit(model, data, options);
 * history.history.loss;      // one value per epoch
 * history.best('valLoss');   // the epoch's logs with the lowest validation loss
 */
export class History {
  readonly epochs: EpochLogs[] = [];
  /** Each figure's values by epoch. */
  readonly history: Record<string, number[]> = {};
  /** Whether a callback (early stopping, a stop request) ended training early. */
  stopped = false;
  /** Why, when `stopped`. */
  stopReason: string | undefined;
  /** Training samples processed, and steps taken. */
  samples = 0;
  steps = 0;
  /** Samples per second of training steps alone (no validation, no callbacks). */
  samplesPerSecond = 0;

  /** Records an epoch's logs. */
  push(logs: EpochLogs): void {
    this.epochs.push(logs);
    for (const [name, value] of Object.entries(logs)) {
      this.history[name] ??= [];
      this.history[name].push(value);
    }
  }

  /** The logs of the last epoch recorded. */
  get last(): EpochLogs | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  /** The logs of the epoch with the best `name`: the highest for accuracies, else the lowest (or as `mode` says). */
  best(name: string, mode: 'min' | 'max' = impliedMode(name)): EpochLogs | undefined {
    let best: EpochLogs | undefined;
    for (const logs of this.epochs) {
      const v = logs[name];
      if (v === undefined || Number.isNaN(v)) continue;
      if (!best || (mode === 'max' ? v > best[name]! : v < best[name]!)) best = logs;
    }
    return best;
  }
}

/** `max` for figures that grow as a model improves (accuracies), `min` for the rest (losses, errors). */
export function impliedMode(name: string): 'min' | 'max' {
  return /acc/i.test(name) ? 'max' : 'min';
}
