import type { RecipeName } from '../../src/recipes.js';

/** What the page asks of the training worker. */
export type ToWorker =
  | {
      readonly type: 'start';
      readonly recipe: RecipeName;
      /** Training examples, the first ones of the embedded training split. */
      readonly examples: number;
      readonly epochs: number;
      readonly seed: number;
    }
  | { readonly type: 'stop' };

/** The first layer's weights, [neurons × inputs] row-major, for the live pictures. */
export interface WeightSnapshot {
  readonly weight: Float32Array;
  readonly neurons: number;
}

/** What the training worker reports. */
export type FromWorker =
  | { readonly type: 'status'; readonly text: string }
  | {
      readonly type: 'ready';
      readonly trainExamples: number;
      readonly testExamples: number;
      readonly batches: number;
      /** Test accuracy of the freshly initialised network. */
      readonly accuracy: number;
      readonly snapshot: WeightSnapshot;
    }
  | {
      readonly type: 'batch';
      /** Progress in epochs (2.5 = half way through the third). */
      readonly at: number;
      /** Moving averages of the training batches' loss and accuracy. */
      readonly loss: number;
      readonly accuracy: number;
      readonly samplesPerSecond: number;
      readonly snapshot: WeightSnapshot | null;
    }
  | {
      readonly type: 'epoch';
      readonly epoch: number;
      readonly trainLoss: number;
      readonly trainAccuracy: number;
      readonly testAccuracy: number;
    }
  | {
      readonly type: 'done';
      readonly testAccuracy: number;
      readonly stopped: boolean;
      readonly seconds: number;
      readonly snapshot: WeightSnapshot;
      /** The trained network as a safetensors checkpoint, as `mnist-mlp train` writes one. */
      readonly checkpoint: Uint8Array;
    }
  | { readonly type: 'error'; readonly message: string };
