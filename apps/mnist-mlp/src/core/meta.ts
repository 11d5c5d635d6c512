import type { RecipeName } from '../recipes.js';
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

/** The training metadata in a checkpoint, if it was written by this app; null otherwise. */
export function readMeta(meta: unknown): TrainingMeta | null {
  if (meta === null || typeof meta !== 'object') return null;
  const m = meta as Partial<TrainingMeta>;
  if (m.app !== 'mnist-mlp' || !Array.isArray(m.history)) return null;
  return m as TrainingMeta;
}
