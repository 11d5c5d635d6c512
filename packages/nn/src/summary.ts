import { noGrad, zeros } from '@neurite/tensor';
import { Embedding } from './layers/embedding.js';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';
import { type InferredLayer, inferShapes } from './spec-shapes.js';

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

/** The module at a dotted child path such as `2.0`. */
function childAt(model: Module, name: string): Module | undefined {
  let m: Module | undefined = model;
  for (const key of name.split('.')) {
    m = m ? new Map(m.namedChildren()).get(key) : undefined;
  }
  return m;
}

/** One row per layer of a spec, nested blocks followed by their layers, from the inferred shapes. */
function specRows(model: Module, layers: readonly InferredLayer[]): [string, string, string][] {
  const rows: [string, string, string][] = [];
  const visit = (layer: InferredLayer, depth: number) => {
    const module = childAt(model, layer.name);
    const label = module ? module.toString().split('\n')[0]!.replace(/\($/, '') : layer.spec.type;
    rows.push([
      `${'  '.repeat(depth)}${layer.name}  ${label}`,
      batchShape([1, ...layer.output]),
      withCommas(module?.parameterCount() ?? 0),
    ]);
    for (const child of layer.children ?? []) visit(child, depth + 1);
  };
  for (const layer of layers) visit(layer, 0);
  return rows;
}

/**
 * A Keras-like table of the model: one row per layer with its output shape
 * and parameter count, then the total. For a model built from a spec, the
 * shapes are the ones inferred from the spec (nested blocks list their
 * layers below them), for every layer type. Otherwise they need the shape
 * of one input sample, `inputShape`, and are found by running each layer on
 * a zero batch of one sample in evaluation mode, so no dropout mask is drawn
 * and no running statistic moves.
 *
 * @example
 * console.log(summary(buildModel(spec)));
 * // Layer                        Output shape    Params
 * // input                        [N, 784]             0
 * // 0  Dense(784 → 16, sigmoid)  [N, 16]         12,560
 * // …
 * // Total params: 13,002 (50.8 KiB)
 */
export function summary(model: Module, inputShape?: readonly number[]): string {
  const spec = model instanceof Sequential ? model.spec : undefined;
  const input = inputShape ?? spec?.input;
  const rows: [string, string, string][] = [];
  const title = spec?.name ? `Model: ${spec.name}\n` : '';
  let outputShape: string | undefined;

  if (spec && (!inputShape || sameShape(inputShape, spec.input))) {
    const layers = inferShapes(spec);
    rows.push(['input', batchShape([1, ...spec.input]), '0'], ...specRows(model, layers));
  } else {
    const children: [string, Module][] =
      model instanceof Sequential
        ? model.layers.map((layer, i) => [`${i}`, layer])
        : [...model.namedChildren()];
    let shapes: (string | undefined)[] = children.map(() => undefined);
    if (input) {
      const modes = [...model.namedModules()].map(([, m]) => [m, m.training] as const);
      const state = model.buffers().map((b) => [b, b.data.slice()] as const);
      model.eval();
      try {
        noGrad(() => {
          // A model that starts with an embedding is fed int32 indices.
          const first = model instanceof Sequential ? model.layers[0] : undefined;
          const x = zeros([1, ...input], {
            dtype: first instanceof Embedding ? 'int32' : 'float32',
          });
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
        for (const [b, data] of state) b.data.set(data);
      }
      rows.push(['input', batchShape([1, ...input]), '0']);
    }
    children.forEach(([name, layer], i) => {
      rows.push([
        `${name}  ${layer.toString().split('\n')[0]!.replace(/\($/, '')}`,
        shapes[i] ?? '-',
        withCommas(layer.parameterCount()),
      ]);
    });
  }

  const header: [string, string, string] = ['Layer', 'Output shape', 'Params'];
  const widths = [0, 1, 2].map((c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padStart(widths[2]!)}`;
  const width = widths[0]! + widths[1]! + widths[2]! + 4;
  const params = model.parameters();
  const total = params.reduce((n, p) => n + p.size, 0);
  const size = params.reduce((n, p) => n + p.size * dtypeBytes(p.dtype), 0);
  const buffers = model.buffers();
  const bufferBytes = buffers.reduce((n, b) => n + b.size * dtypeBytes(b.dtype), 0);
  return [
    `${title}${line(header)}`,
    '='.repeat(width),
    ...rows.map(line),
    '='.repeat(width),
    `Total params: ${withCommas(total)} (${bytes(size)})`,
    ...(buffers.length > 0
      ? [
          `Buffers: ${withCommas(buffers.reduce((n, b) => n + b.size, 0))} values (${bytes(bufferBytes)})`,
        ]
      : []),
    ...(outputShape && !(model instanceof Sequential) ? [`Output shape: ${outputShape}`] : []),
  ].join('\n');
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
