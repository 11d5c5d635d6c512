import { NeuriteError } from '@neurite/tensor';

/**
 * A model spec that does not validate. `issues` holds one line per problem,
 * each `path: why, got value`, e.g. `layers[1].units: expected a positive integer, got -3`.
 */
export class SpecError extends NeuriteError {
  override name = 'SpecError';
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(
      issues.length === 1
        ? `invalid model spec: ${issues[0]}`
        : `invalid model spec (${issues.length} problems):\n  ${issues.join('\n  ')}`,
    );
    this.issues = issues;
  }
}

/** A state dict that does not fit the module or optimiser it is loaded into. */
export class StateDictError extends NeuriteError {
  override name = 'StateDictError';
}

/** Bytes that are not a valid safetensors file, or a checkpoint that cannot be restored. */
export class CheckpointError extends NeuriteError {
  override name = 'CheckpointError';
}

/** A loss given predictions and targets it cannot compare. */
export class LossError extends NeuriteError {
  override name = 'LossError';
}

/** An optimiser or schedule given an impossible setting. */
export class OptimizerError extends NeuriteError {
  override name = 'OptimizerError';
}
