/**
 * What the page exposes as `window.__neurite` for the browser test to read:
 * the numbers behind the picture, and where the neurons are drawn.
 */
export interface NeuriteHook {
  snapshot(): {
    /** The label of the network shown. */
    model: string;
    /** Layer sizes, input first. */
    sizes: number[];
    /** The 784 inputs the drawing became. */
    input: number[];
    /** Every layer's activations, input first. */
    activations: number[][];
    /** The predicted digit, or null for an empty pad. */
    prediction: number | null;
  };
  /** A neuron's centre in viewport coordinates (layer 0 is the input). */
  neuronCentre(layer: number, index: number): { x: number; y: number } | null;
}

declare global {
  interface Window {
    __neurite?: NeuriteHook;
  }
}
