import type { TypedArray } from '../dtype.js';
import type { Shape } from '../shape.js';

/**
 * Generated loops over a strided iteration space. Every elementwise op,
 * broadcast, permute and reduction is one nest of loops in which each operand
 * walks the space with its own strides (0 where it is broadcast or reduced).
 * The sizes and strides are baked into the generated source as literals, so
 * V8 sees constant trip counts and unit strides; the source is cached, so a
 * shape seen before costs a map lookup.
 */

/** A loop body over operands `x0 … xn` and output `o`, e.g. `O[o] = x0 + x1`. */
export interface LoopSpec {
  /** Extent of each iteration axis. */
  readonly shape: Shape;
  /** Strides of the output over the iteration axes. */
  readonly outStrides: readonly number[];
  /** Element offset of the first element of each input. */
  readonly inOffsets?: readonly number[];
  /** Strides of each input over the iteration axes. */
  readonly inStrides: readonly (readonly number[])[];
  /** Statement run per point, over `O`, `o` and values `x0 … xn`. */
  readonly body: string;
  /**
   * Further outputs laid out like `O`, passed after the inputs in `ins` and
   * written by the body as `S0[o]`, `S1[o]` …: one loop storing several results.
   */
  readonly stores?: number;
}

type Compiled = (out: TypedArray, ins: readonly TypedArray[]) => void;

const cache = new Map<string, Compiled>();

/** Merges adjacent axes along which every operand is contiguous, to keep loop nests shallow. */
function collapse(spec: LoopSpec): { shape: number[]; strides: number[][] } {
  const all = [spec.outStrides, ...spec.inStrides];
  const shape: number[] = [];
  const strides: number[][] = all.map(() => []);
  for (let d = 0; d < spec.shape.length; d++) {
    const n = spec.shape[d]!;
    if (n === 1) continue;
    const last = shape.length - 1;
    const mergeable = last >= 0 && all.every((s, k) => strides[k]![last] === s[d]! * n);
    if (mergeable) {
      shape[last]! *= n;
      all.forEach((s, k) => {
        strides[k]![last] = s[d]!;
      });
    } else {
      shape.push(n);
      all.forEach((s, k) => {
        strides[k]!.push(s[d]!);
      });
    }
  }
  return { shape, strides };
}

/** Returns a function running `spec.body` at every point of the iteration space. */
export function stridedLoop(spec: LoopSpec): Compiled {
  // Eager mode asks for a kernel on every op: a short key finds it without
  // generating the source again.
  const key = `${spec.body}|${spec.shape}|${spec.outStrides}|${spec.inStrides.join(';')}|${spec.inOffsets ?? ''}|${spec.stores ?? 0}`;
  let fn = bySpec.get(key);
  if (!fn) {
    fn = generate(spec);
    // Bounded, so a program cycling through endless shapes does not leak.
    if (bySpec.size >= 4096) bySpec.clear();
    bySpec.set(key, fn);
  }
  return fn;
}

const bySpec = new Map<string, Compiled>();

function generate(spec: LoopSpec): Compiled {
  const { shape, strides } = collapse(spec);
  const nIn = spec.inStrides.length;
  const offsets = spec.inOffsets ?? new Array<number>(nIn).fill(0);
  const lines: string[] = [];
  for (let k = 0; k < nIn; k++) lines.push(`const I${k} = ins[${k}];`);
  for (let j = 0; j < (spec.stores ?? 0); j++) lines.push(`const S${j} = ins[${nIn + j}];`);
  const names = ['o', ...Array.from({ length: nIn }, (_, k) => `p${k}`)];
  const start = [0, ...offsets];
  names.forEach((name, k) => {
    lines.push(`let ${name}_0 = ${start[k]};`);
  });
  const depth = shape.length;
  // An input constant along the innermost axis (a broadcast scalar or row) is
  // read once per inner loop, not once per element: the engine cannot prove
  // it does not alias the output, so V8 would not hoist the load itself.
  const hoisted = (k: number) => depth > 0 && strides[k + 1]![depth - 1] === 0;
  for (let d = 0; d < depth; d++) {
    if (d === depth - 1) {
      for (let k = 0; k < nIn; k++) if (hoisted(k)) lines.push(`const x${k} = I${k}[p${k}_${d}];`);
    }
    lines.push(`for (let i${d} = 0; i${d} < ${shape[d]}; i${d}++) {`);
    names.forEach((name, k) => {
      const s = strides[k]![d]!;
      lines.push(`const ${name}_${d + 1} = ${name}_${d}${s === 0 ? '' : ` + i${d} * ${s}`};`);
    });
  }
  names.forEach((name) => {
    lines.push(`const ${name} = ${name}_${depth};`);
  });
  for (let k = 0; k < nIn; k++) if (!hoisted(k)) lines.push(`const x${k} = I${k}[p${k}];`);
  lines.push(spec.body);
  for (let d = 0; d < depth; d++) lines.push('}');
  const source = lines.join('\n');
  let fn = cache.get(source);
  if (!fn) {
    fn = new Function('O', 'ins', source) as Compiled;
    cache.set(source, fn);
  }
  return fn;
}

/** Strides of `shape` as seen from an iteration space `target` it broadcasts to (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const t = target.length - shape.length + i;
    out[t] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return out;
}
