import { fmt } from './errors.js';
import type { Tensor } from './tensor.js';

/** Every tensor of the graph behind `root`, inputs first. */
export function walk(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const inputs = top[0].node?.inputs ?? [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++]!;
      if (!seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(top[0]);
    }
  }
  return order;
}

function label(t: Tensor): string {
  const node = t.node;
  if (!node) return t.name ?? (t.requiresGrad ? 'leaf' : 'const');
  const attrs = node.op.describe?.(node.attrs as never) ?? '';
  return attrs ? `${node.op.name}(${attrs})` : node.op.name;
}

/**
 * One line per tensor: id, op (or leaf/const), shape, dtype, inputs.
 *
 * @example
 * console.log(loss.graph());
 * // %0 = leaf            [64, 784] float32
 * // %2 = matmul(A·Bᵀ)    [64, 16]  float32  (%0, %1)
 */
export function formatGraph(root: Tensor): string {
  const nodes = walk(root);
  const index = new Map(nodes.map((t, i) => [t, i]));
  const rows = nodes.map((t) => [
    `%${index.get(t)}`,
    label(t),
    fmt(t.shape),
    t.dtype,
    t.node ? `(${t.node.inputs.map((i) => `%${index.get(i)}`).join(', ')})` : '',
  ]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      `${r[0]!.padEnd(widths[0]!)} = ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]!.padEnd(widths[3]!)}  ${r[4]}`.trimEnd(),
    )
    .join('\n');
}

/** The graph behind `root` in Graphviz DOT: one box per tensor, edges from inputs. */
export function toDot(root: Tensor): string {
  const nodes = walk(root);
  const index = new Map(nodes.map((t, i) => [t, i]));
  const lines = ['digraph neurite {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
  for (const t of nodes) {
    const i = index.get(t)!;
    const style = t.node
      ? ''
      : t.requiresGrad
        ? ', style=filled, fillcolor="#dbeafe"'
        : ', style=dashed';
    lines.push(
      `  n${i} [label="${label(t).replace(/"/g, '\\"')}\\n${fmt(t.shape)} ${t.dtype}"${style}];`,
    );
    for (const input of t.node?.inputs ?? []) lines.push(`  n${index.get(input)} -> n${i};`);
  }
  lines.push('}');
  return lines.join('\n');
}
