let enabled = true;

/** Whether ops currently record the graph for autodiff. */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` without recording the graph: results do not require gradients.
 * Use it for inference and parameter updates.
 *
 * @example
 * const logits = noGrad(() => model.forward(images));
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with graph recording switched on or off, restoring the previous mode after. */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = on;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}
