/** How a classifier did on a labelled set. */
export interface Evaluation {
  /** Number of examples. */
  readonly count: number;
  /** Fraction classified correctly. */
  readonly accuracy: number;
  /** `confusion[true][predicted]` = number of examples. */
  readonly confusion: number[][];
  /** Per class: of the examples predicted as this class, the fraction that are (NaN if none was predicted). */
  readonly precision: number[];
  /** Per class: of the examples of this class, the fraction found (NaN if the class is absent). */
  readonly recall: number[];
}

/**
 * Accuracy, confusion matrix and per-class precision and recall from
 * predicted and true class indices.
 *
 * @example
 * evaluate([1, 0, 1], [1, 1, 1], 2).accuracy; // 2/3
 */
export function evaluate(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): Evaluation {
  if (predicted.length !== labels.length) {
    throw new RangeError(`evaluate: ${predicted.length} predictions for ${labels.length} labels`);
  }
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const t = labels[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < classes && p >= 0 && p < classes)) {
      throw new RangeError(
        `evaluate: example ${i} has label ${t}, prediction ${p}; classes are 0..${classes - 1}`,
      );
    }
    confusion[t]![p]!++;
    if (t === p) correct++;
  }
  const precision: number[] = [];
  const recall: number[] = [];
  for (let c = 0; c < classes; c++) {
    let predictedAsC = 0;
    let actualC = 0;
    for (let k = 0; k < classes; k++) {
      predictedAsC += confusion[k]![c]!;
      actualC += confusion[c]![k]!;
    }
    precision.push(predictedAsC === 0 ? Number.NaN : confusion[c]![c]! / predictedAsC);
    recall.push(actualC === 0 ? Number.NaN : confusion[c]![c]! / actualC);
  }
  return {
    count: labels.length,
    accuracy: labels.length === 0 ? Number.NaN : correct / labels.length,
    confusion,
    precision,
    recall,
  };
}
