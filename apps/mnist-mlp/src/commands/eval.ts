import { readCheckpoint } from '../checkpoint.js';
import { predictAll } from '../core/inference.js';
import { evaluate } from '../core/metrics.js';
import { outputSize } from '../core/spec-info.js';
import { checkFits, datasetForCheckpoint } from '../dataset.js';
import { count, type Output, percent } from '../output.js';

export interface EvalOptions {
  model: string;
  data?: string;
}

/**
 * `mnist-mlp eval`: accuracy, per-digit precision and recall, and the
 * confusion matrix of a checkpoint on a test set (by default the data it
 * was trained on).
 */
export async function evalCommand(options: EvalOptions, out: Output): Promise<number> {
  const { model, spec, meta } = await readCheckpoint(options.model);
  const { test, source } = await datasetForCheckpoint(options.data, meta?.data);
  checkFits(spec, { test }, source);
  const classes = outputSize(spec);
  const { predicted } = predictAll(model, spec, test);
  const result = evaluate(predicted, test.labels.data, classes);
  const correct = Math.round(result.accuracy * result.count);

  out.line(
    `${options.model} on the ${source} test set: accuracy ${percent(result.accuracy)} (${count(correct)} of ${count(result.count)})`,
  );
  out.line();
  out.line('digit  precision  recall   count');
  for (let c = 0; c < classes; c++) {
    const n = result.confusion[c]!.reduce((a, b) => a + b, 0);
    out.line(
      `${String(c).padStart(5)}  ${percent(result.precision[c]!, 1).padStart(9)}  ${percent(result.recall[c]!, 1).padStart(6)}  ${String(n).padStart(6)}`,
    );
  }
  out.line();
  out.line('confusion matrix (rows: true digit, columns: predicted digit)');
  // A loop, not Math.max(...cells): a network of many classes has more cells than a call takes arguments.
  let cell = 4;
  for (const row of result.confusion)
    for (const v of row) cell = Math.max(cell, String(v).length + 1);
  out.line(`true\\${Array.from({ length: classes }, (_, c) => String(c).padStart(cell)).join('')}`);
  result.confusion.forEach((row, t) => {
    out.line(`${String(t).padStart(5)}${row.map((v) => String(v).padStart(cell)).join('')}`);
  });
  out.result({
    model: options.model,
    data: source,
    count: result.count,
    accuracy: result.accuracy,
    precision: result.precision,
    recall: result.recall,
    confusion: result.confusion,
  });
  return 0;
}
