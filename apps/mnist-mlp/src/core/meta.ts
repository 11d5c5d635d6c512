import type { RecipeName } from '../recipes.js';
import { InputError } from './errors.js';
import type { EpochRecord } from './history.js';

/**
 * What a checkpoint records about the run that made it, next to the spec.
 * Only the facts of the run, no clock times or paths that differ between
 * identical runs: the same command gives a bit-identical file.
 */
export interface TrainingMeta {
  readonly app: 'mnist-mlp';
  readonly recipe: RecipeName;
  /** Epochs asked for, and epochs finished (fewer after Ctrl-C). */
  readonly epochs: number;
  readonly epochsRun: number;
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
  /** `embedded` or the data folder as given on the command line. */
  readonly data: string;
  readonly trainExamples: number;
  readonly valExamples: number;
  readonly testExamples: number;
  readonly parameters: number;
  /** Random shift of training images, in pixels (0: no augmentation). */
  readonly maxShift: number;
  /** The epoch whose weights were saved (best on validation), null for weights of an unfinished epoch. */
  readonly keptEpoch: number | null;
  readonly stopped: boolean;
  readonly testAccuracy: number;
  readonly history: EpochRecord[];
}

/**
 * The training metadata in a checkpoint, if it was written by this app;
 * null otherwise. A history that is not a list of epoch records (a file
 * edited or corrupted by hand) is refused with an `InputError` naming the
 * entry and the field, rather than drawn.
 */
export function readMeta(meta: unknown): TrainingMeta | null {
  if (meta === null || typeof meta !== 'object') return null;
  const m = meta as Partial<TrainingMeta>;
  if (m.app !== 'mnist-mlp' || !Array.isArray(m.history)) return null;
  m.history.forEach((record: unknown, i) => {
    const problem = epochRecordProblem(record);
    if (problem) throw new InputError(`the checkpoint's training history, entry ${i}: ${problem}`);
  });
  return m as TrainingMeta;
}

const NUMBERS = ['trainLoss', 'trainAccuracy', 'testAccuracy', 'lr'] as const;

function epochRecordProblem(record: unknown): string | null {
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    return 'not an object';
  const r = record as Record<string, unknown>;
  if (!Number.isSafeInteger(r.epoch) || (r.epoch as number) < 1)
    return `epoch is ${JSON.stringify(r.epoch)}, not a positive integer`;
  // JSON turns NaN and ±∞ into null: a number or null is a value the run measured.
  for (const key of [...NUMBERS, 'valAccuracy']) {
    if (r[key] !== null && typeof r[key] !== 'number') return `${key} is not a number`;
  }
  return null;
}
