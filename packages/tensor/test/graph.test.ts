import { describe, expect, it } from 'vitest';
import { formatGraph, noGrad, type Tensor, tensor, toDot, walk } from '../src/index.js';

/** A two-layer forward pass: x → x·Wᵀ + b → sigmoid → mean. */
function buildLoss() {
  const x = tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  x.name = 'images';
  const w = tensor(
    [
      [0.1, 0.2, 0.3],
      [0.4, 0.5, 0.6],
      [0.7, 0.8, 0.9],
      [1, 1.1, 1.2],
    ],
    { requiresGrad: true },
  );
  w.name = 'W';
  const b = tensor([0, 1, 2, 3], { requiresGrad: true });
  const h = x.matmul(w, { transB: true });
  const z = h.add(b);
  const loss = z.sigmoid().mean();
  return { x, w, b, h, z, loss };
}

interface Row {
  id: number;
  label: string;
  shape: string;
  dtype: string;
  inputs: number[];
}

/** Parses one line of the listing: `%3 = matmul(A·Bᵀ)  [2, 4]  float32  (%0, %1)`. */
function parse(listing: string): Row[] {
  return listing.split('\n').map((line) => {
    const m = /^%(\d+)\s+=\s+(.+?)\s{2,}(\[[\d, ]*\])\s+(\w+)\s*(?:\(([^)]*)\))?$/.exec(line);
    if (!m) throw new Error(`unparsable graph line: ${line}`);
    const inputs = m[5] ? m[5].split(', ').map((s) => Number(s.slice(1))) : [];
    return { id: Number(m[1]), label: m[2]!.trim(), shape: m[3]!, dtype: m[4]!, inputs };
  });
}

describe('graph()', () => {
  it('lists every tensor once, inputs before the ops that read them', () => {
    const { loss } = buildLoss();
    const rows = parse(loss.graph());
    const nodes = walk(loss);
    expect(rows.length).toBe(nodes.length);
    rows.forEach((row, i) => {
      expect(row.id).toBe(i);
      const t = nodes[i]!;
      expect(row.shape).toBe(`[${t.shape.join(', ')}]`);
      expect(row.dtype).toBe(t.dtype);
      expect(row.inputs.length).toBe(t.node?.inputs.length ?? 0);
      for (const j of row.inputs) expect(j).toBeLessThan(i);
      // Each listed input is the tensor that op actually read.
      row.inputs.forEach((j, k) => {
        expect(nodes[j]).toBe(t.node!.inputs[k]);
      });
    });
    expect(nodes[nodes.length - 1]).toBe(loss);
  });

  it('shows op names with their attributes, leaves by name, constants as const', () => {
    const { loss } = buildLoss();
    const rows = parse(loss.graph());
    const labels = rows.map((r) => r.label);
    expect(labels).toContain('images');
    expect(labels).toContain('W');
    expect(labels).toContain('leaf'); // b has no name
    expect(labels).toContain('const'); // the mean's divisor
    expect(labels).toContain('matmul(A·Bᵀ)');
    expect(labels).toContain('add');
    expect(labels).toContain('sigmoid');
    expect(labels).toContain('sum(axes=[0,1])');
    expect(labels).toContain('div');
    const matmulRow = rows.find((r) => r.label === 'matmul(A·Bᵀ)')!;
    expect(matmulRow.shape).toBe('[2, 4]');
    expect(rows[matmulRow.inputs[0]!]!.label).toBe('images');
    expect(rows[matmulRow.inputs[1]!]!.label).toBe('W');
    expect(rows.at(-1)!.shape).toBe('[]');
  });

  it('formatGraph is what graph() prints', () => {
    const { loss } = buildLoss();
    expect(formatGraph(loss)).toBe(loss.graph());
  });

  it('a shared subexpression appears once and is read twice', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const s = x.sin();
    const y = s.mul(s).sum();
    const rows = parse(y.graph());
    expect(rows.filter((r) => r.label === 'sin')).toHaveLength(1);
    const mul = rows.find((r) => r.label === 'mul')!;
    expect(mul.inputs[0]).toBe(mul.inputs[1]);
  });

  it('records nothing without a tensor that requires a gradient, or under noGrad', () => {
    const a = tensor([1, 2]);
    const y = a.mul(3).sum();
    expect(y.node).toBeNull();
    expect(y.graph().split('\n')).toHaveLength(1);
    expect(y.graph()).toContain('const');
    const w = tensor([1, 2], { requiresGrad: true });
    const z = noGrad(() => w.mul(3).sum());
    expect(z.node).toBeNull();
    expect(z.requiresGrad).toBe(false);
  });

  it('the gradient is itself a graph that can be listed', () => {
    const x = tensor([0.5, -1], { requiresGrad: true });
    x.sigmoid().sum().backward(undefined, { createGraph: true });
    const rows = parse(x.grad!.graph());
    expect(rows.length).toBeGreaterThan(2);
    expect(rows.map((r) => r.label)).toContain('sigmoid');
    expect(rows.at(-1)!.shape).toBe('[2]');
  });
});

describe('toDot()', () => {
  const edges = (dot: string) =>
    dot
      .split('\n')
      .map((l) => /^\s*n(\d+) -> n(\d+);$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [Number(m[1]), Number(m[2])]);

  it('is a Graphviz digraph with one box per tensor and one edge per input', () => {
    const { loss } = buildLoss();
    const dot = loss.toDot();
    expect(dot.startsWith('digraph neurite {')).toBe(true);
    expect(dot.trimEnd().endsWith('}')).toBe(true);
    const nodes = walk(loss);
    const boxes = dot.split('\n').filter((l) => /^\s*n\d+ \[label=/.test(l));
    expect(boxes).toHaveLength(nodes.length);
    const e = edges(dot);
    expect(e.length).toBe(nodes.reduce((s, t) => s + (t.node?.inputs.length ?? 0), 0));
    for (const [from, to] of e) {
      expect(nodes[to!]!.node!.inputs).toContain(nodes[from!]);
    }
    expect(toDot(loss)).toBe(dot);
  });

  it('labels each box with op, shape and dtype, and styles leaves and constants', () => {
    const { loss } = buildLoss();
    const dot = loss.toDot();
    expect(dot).toContain('label="matmul(A·Bᵀ)\\n[2, 4] float32"');
    expect(dot).toMatch(/label="W\\n\[4, 3\] float32", style=filled/);
    expect(dot).toMatch(/label="images\\n\[2, 3\] float32", style=dashed/);
    expect(dot).toContain('label="sum(axes=[0,1])\\n[] float32"');
  });

  it('escapes quotes in names', () => {
    const x = tensor([1], { requiresGrad: true });
    x.name = 'say "hi"';
    const dot = x.mul(2).toDot();
    expect(dot).toContain('label="say \\"hi\\"\\n[1] float32"');
  });
});

describe('walk()', () => {
  it('reaches inputs of every depth, once each, without recursion limits', () => {
    const x = tensor([1], { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < 20000; i++) y = y.add(1);
    const nodes = walk(y);
    expect(nodes.length).toBe(1 + 2 * 20000);
    expect(nodes[0]).toBe(x);
    expect(nodes.at(-1)).toBe(y);
  });
});
