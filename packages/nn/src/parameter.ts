import type { Tensor } from '@neurite/tensor';

/**
 * A layer's trainable tensor: `t`'s values moved into the kernels' memory
 * (`pinMemory`) as a leaf that requires a gradient. A compiled step's
 * products then read it where it is, and an optimiser updates it there in
 * one fused loop, with no copy in or out. `loadStateDict` and optimisers
 * write parameters in place, so it stays there. (Where that memory cannot
 * be shared or is full, a plain copy: the same numbers, read through copies.)
 */
export function parameter(t: Tensor): Tensor {
  const p = t.pinMemory();
  p.requiresGrad = true;
  return p;
}
