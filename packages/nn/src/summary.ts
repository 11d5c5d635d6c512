import { noGrad, zeros } from '@neurite/tensor';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';

const withCommas = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function dtypeBytes(dtype: string): number {
  return dtype === 'float64' ? 8 : 4;
}

const batchShape = (shape: readonly number[]) =>
  `[N${shape
    .slice(1)
    .map((d) => `, ${d}`)
    .join('')}]`;

/**
 * A Keras-like table of the model: one row per layer with its output shape
 * and parameter count, then the total. Output shapes need the shape of one
 * input sample: `inputShape`, or the spec's `input` for a built model.
 * Shapes are found by running each layer on a zero batch of one sample in
 * evaluation mode, so no dropout mask is drawn and the generators are left
 * untouched.
 *
 * @example
 * console.log(summary(buildModel(spec)));
 * // Layer                               Output shape    Params
 * // input                               [N, 784]             0
 * // layers.0  Dense(784 → 16, sigmoid)  [N, 16]         12,560
 * // …
 * // Total params: 13,002 (50.8 KiB)
 */
export function summary(model: Module, inputShape?: readonly number[]): string {
  const input = inputShape ?? (model instanceof Sequential ? model.spec?.input : undefined);
  const children: [string, Module][] =
    model instanceof Sequential
      ? model.layers.map((layer, i) => [`${i}`, layer])
      : [...model.namedChildren()];
  const rows: [string, string, string][] = [];
  const title =
    model instanceof Sequential && model.spec?.name ? `Model: ${model.spec.name}\n` : '';

  let shapes: (string | undefined)[] = children.map(() => undefined);
  let outputShape: string | undefined;
  if (input) {
    const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
    model.eval();
    try {
      noGrad(() => {
        const x = zeros([1, ...input]);
        if (model instanceof Sequential) {
          let y = x;
          shapes = model.layers.map((layer) => {
            y = layer.forward(y);
            return batchShape(y.shape);
          });
          outputShape = batchShape(y.shape);
        } else {
          outputShape = batchShape(model.forward(x).shape);
        }
      });
    } finally {
      for (const [m, training] of modes) m.training = training;
    }
    rows.push(['input', batchShape([1, ...input]), '0']);
  }
  children.forEach(([name, layer], i) => {
    rows.push([
      `${name}  ${layer.toString().split('\n')[0]}`,
      shapes[i] ?? '-',
      withCommas(layer.parameterCount()),
    ]);
  });

  const header: [string, string, string] = ['Layer', 'Output shape', 'Params'];
  const widths = [0, 1, 2].map((c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}`;
  const width = widths[0]! + widths[1]! + widths[2]! + 4;
  const params = model.parameters();
  const total = params.reduce((n, p) => n + p.size, 0);
  const size = params.reduce((n, p) => n + p.size * dtypeBytes(p.dtype), 0);
  return [
    `${title}${line(header)}`,
    '='.repeat(width),
    ...rows.map(line),
    '='.repeat(width),
    `Total params: ${withCommas(total)} (${bytes(size)})`,
    ...(outputShape && !(model instanceof Sequential) ? [`Output shape: ${outputShape}`] : []),
  ].join('\n');
}
