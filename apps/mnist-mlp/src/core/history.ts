/** What one epoch of training measured; checkpoints keep the list, `visualize` plots it. */
export interface EpochRecord {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Mean training loss over the epoch's batches. */
  readonly trainLoss: number;
  /** Fraction of training examples classified correctly during the epoch (as the weights moved). */
  readonly trainAccuracy: number;
  /** Accuracy on the validation split carved from the training set, if there is one. */
  readonly valAccuracy: number | null;
  /** Accuracy on the test set. */
  readonly testAccuracy: number;
  /** The learning rate at the epoch's last step. */
  readonly lr: number;
}
