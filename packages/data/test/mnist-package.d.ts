// Types for the registry package `mnist` (a devDependency: the embedded test checks
// @neurite/mnist-embedded against it), which ships none. Only what
// loadEmbeddedMnist reads is declared.
declare module 'mnist' {
  /** One digit class; `raw` holds its images back to back, 784 values in [0, 1] each. */
  interface MnistDigit {
    readonly id: number;
    readonly length: number;
    readonly raw: readonly number[];
  }
  const digits: readonly MnistDigit[];
  export default digits;
}
