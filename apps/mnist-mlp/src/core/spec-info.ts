import type { ModelSpec } from '@neurite/nn';

/** Numbers per input sample: the product of the spec's input shape (784 for 28×28). */
export function inputSize(spec: ModelSpec): number {
  return spec.input.reduce((a, b) => a * b, 1);
}

/** Number of outputs (classes): the units of the last dense layer. */
export function outputSize(spec: ModelSpec): number {
  for (let i = spec.layers.length - 1; i >= 0; i--) {
    const layer = spec.layers[i]!;
    if (layer.type === 'dense') return layer.units;
  }
  return inputSize(spec);
}

/** The layer sizes, e.g. `784-16-16-10`. */
export function architecture(spec: ModelSpec): string {
  const sizes = [inputSize(spec)];
  for (const layer of spec.layers) if (layer.type === 'dense') sizes.push(layer.units);
  return sizes.join('-');
}
