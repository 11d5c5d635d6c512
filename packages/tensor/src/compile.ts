import { allocate, type DType, type TypedArray } from './dtype.js';
import { withTracer } from './engine.js';
import { NeuriteError } from './errors.js';
import { broadcastStrides, stridedLoop } from './kernels/strided.js';
import type { Kernel, Op } from './op.js';
import { type Shape, sameShape, stridesOf } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * `compile(step)`: trace once, replay a static plan.
 *
 * The first call with a new signature (argument shapes and dtypes) runs
 * `step` eagerly while recording every op and every in-place assignment. The
 * recording becomes a plan:
 *  - each distinct storage buffer is a slot: arguments (rebound per call),
 *    external tensors such as parameters (read by reference, so in-place
 *    updates are seen), and results of recorded ops;
 *  - chains of elementwise ops whose intermediates nobody else reads are fused
 *    into one generated loop (intermediates rounded to their dtype exactly as
 *    eager stores them, so compiled and eager agree bit for bit);
 *  - an assignment whose value comes from such a loop writes straight into
 *    its target;
 *  - intermediate buffers are planned by liveness and allocated once;
 *  - every kernel is specialised to its shapes once.
 * Later calls run the kernels in order: no graph, no allocation but the copy
 * of the returned values.
 */

/** What a compiled function may return: tensors, arrays or plain objects of them. */
export type Traced =
  | Tensor
  | readonly Traced[]
  | { readonly [key: string]: Traced }
  | undefined
  | void;

/** Facts about a plan, for tests and curious users. */
export interface PlanStats {
  /** Ops recorded while tracing. */
  traced: number;
  /** Kernel launches per replay. */
  launches: number;
  /** Elementwise ops merged into another op's loop. */
  fused: number;
  /** Assignments written in place by the op producing their value. */
  inPlaceAssigns: number;
  /** Bytes of intermediate buffers the plan owns. */
  bufferBytes: number;
}

/** A compiled function: same signature, plus its plans. */
export type Compiled<F extends (...args: Tensor[]) => Traced> = F & {
  /** Stats of the plan for each signature traced so far. */
  plans(): PlanStats[];
};

/** Thrown when a compiled function is used in a way a static plan cannot honour. */
export class CompileError extends NeuriteError {
  override name = 'CompileError';
}

/**
 * Compiles a function of tensors (a whole training step: forward, loss,
 * backward, optimiser update) into a replayed plan. A new signature retraces.
 *
 * Rules: the step must not branch on tensor values (they are read once, while
 * tracing), random tensors it creates are frozen at their traced values, and
 * the returned tensors are fresh copies.
 *
 * @example
 * const step = compile((x, y) => {
 *   opt.zeroGrad();
 *   const loss = crossEntropy(model.forward(x), y);
 *   loss.backward();
 *   opt.step();
 *   return loss;
 * });
 * for (const { images, labels } of batches(train, { batchSize: 64 })) step(images, labels);
 */
export function compile<F extends (...args: Tensor[]) => Traced>(fn: F): Compiled<F> {
  const plans = new Map<string, Plan>();
  const compiled = ((...args: Tensor[]) => {
    for (const a of args) {
      if (!(a instanceof Tensor))
        throw new CompileError('compile: every argument must be a Tensor');
    }
    const key = args
      .map((a) => `${a.dtype}[${a.shape.join(',')}]${a.requiresGrad ? 'g' : ''}`)
      .join(';');
    const plan = plans.get(key);
    if (plan) return plan.run(args);
    const recorder = new Recorder(args);
    const result = withTracer(recorder, () => fn(...args));
    const fresh = new Plan(recorder, args, result);
    plans.set(key, fresh);
    // Copies, like every later call: the traced buffers are the plan's now.
    return fresh.copyOutputs(args);
  }) as Compiled<F>;
  compiled.plans = () => [...plans.values()].map((p) => p.stats);
  return compiled;
}

// ---- recording -------------------------------------------------------------------

interface OpStep {
  kind: 'op';
  op: Op<unknown>;
  inputs: Tensor[];
  attrs: unknown;
  out: Tensor;
}

interface AssignStep {
  kind: 'assign';
  target: Tensor;
  value: Tensor;
}

type Step = OpStep | AssignStep;

class Recorder {
  readonly steps: Step[] = [];
  constructor(readonly args: readonly Tensor[]) {}

  op(op: Op<unknown>, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
    if (op.alias) return; // shares its input's buffer: nothing to replay
    this.steps.push({ kind: 'op', op, inputs: inputs.slice(), attrs, out });
  }

  assign(target: Tensor, value: Tensor): void {
    this.steps.push({ kind: 'assign', target, value });
  }
}

// ---- planning --------------------------------------------------------------------

/** An elementwise expression tree being fused: leaves are slots read through strides. */
interface Fusion {
  /** Statements computing the value into `result`, over leaf variables. */
  lines: string[];
  result: string;
  leaves: { buffer: TypedArray; shape: Shape }[];
}

interface Launch {
  kernel: Kernel;
  out: TypedArray;
  ins: TypedArray[];
}

class Plan {
  readonly stats: PlanStats;
  private readonly launches: Launch[] = [];
  /** Per argument: the launches' input arrays (and positions) that read it. */
  private readonly bindings: { ins: TypedArray[]; at: number }[][];
  private readonly argBuffers: TypedArray[];
  private readonly output: (args: readonly Tensor[]) => Traced;

  constructor(recorder: Recorder, args: readonly Tensor[], result: Traced) {
    const steps = recorder.steps;
    this.argBuffers = args.map((a) => a.data);
    const produced = new Map<TypedArray, number>(); // buffer → index of the step writing it
    steps.forEach((s, i) => {
      if (s.kind === 'op') produced.set(s.out.data, i);
    });

    // Buffers that must keep their identity: returned, or reachable as `.grad`.
    const escaping = new Set<TypedArray>();
    forEachTensor(result, (t) => escaping.add(t.data));
    for (const s of steps) {
      const reads = s.kind === 'op' ? s.inputs : [s.target, s.value];
      for (const t of reads) if (t.grad) escaping.add(t.grad.data);
    }

    // How many times each buffer is read.
    const uses = new Map<TypedArray, number>();
    const read = (b: TypedArray) => uses.set(b, (uses.get(b) ?? 0) + 1);
    for (const s of steps) {
      if (s.kind === 'op') s.inputs.forEach((t) => read(t.data));
      else read(s.value.data);
    }

    // Fusion: an elementwise op whose result only one later elementwise op of the
    // same output shape reads is inlined into that op's loop.
    const fusable = (t: Tensor, consumerShape: Shape): boolean => {
      const i = produced.get(t.data);
      if (i === undefined) return false;
      const s = steps[i] as OpStep;
      return (
        s.op.expr !== undefined &&
        uses.get(t.data) === 1 &&
        !escaping.has(t.data) &&
        sameShape(s.out.shape, consumerShape) &&
        sameShape(t.shape, consumerShape)
      );
    };
    const fusions = new Map<number, Fusion>();
    const absorbed = new Set<number>();
    let temp = 0;
    steps.forEach((s, i) => {
      if (s.kind !== 'op' || s.op.expr === undefined) return;
      const lines: string[] = [];
      const leaves: Fusion['leaves'] = [];
      const leafName = (t: Tensor): string => {
        let k = leaves.findIndex((l) => l.buffer === t.data && sameShape(l.shape, t.shape));
        if (k < 0) k = leaves.push({ buffer: t.data, shape: t.shape }) - 1;
        return `x${k}`;
      };
      const expand = (step: OpStep): string => {
        const names = step.inputs.map((t) => {
          if (!fusable(t, s.out.shape)) return leafName(t);
          const j = produced.get(t.data)!;
          absorbed.add(j);
          return expand(steps[j] as OpStep);
        });
        const expr = step.op.expr!.replace(/\bx(\d+)\b/g, (_, k: string) => names[Number(k)]!);
        const name = `t${temp++}`;
        lines.push(`const ${name} = ${rounded(expr, step.out.dtype)};`);
        return name;
      };
      const result = expand(s);
      fusions.set(i, { lines, result, leaves });
    });

    // In-place assignment: the loop producing the value writes into the target
    // directly, provided nothing reads the target in between and the loop reads
    // the target only at the same index it writes.
    const redirect = new Map<number, Tensor>(); // step index → target it writes
    const dropped = new Set<number>();
    steps.forEach((s, i) => {
      if (s.kind !== 'assign') return;
      const j = produced.get(s.value.data);
      const fusion = j === undefined ? undefined : fusions.get(j);
      if (j === undefined || !fusion || absorbed.has(j) || redirect.has(j)) return;
      if (uses.get(s.value.data) !== 1 || escaping.has(s.value.data)) return;
      if (s.target.size !== s.value.size || s.target.dtype !== s.value.dtype) return;
      const producer = steps[j] as OpStep;
      const aligned = fusion.leaves.every(
        (l) => l.buffer !== s.target.data || sameShape(l.shape, producer.out.shape),
      );
      const readBetween = steps
        .slice(j + 1, i)
        .some((m) =>
          (m.kind === 'op' ? m.inputs : [m.value, m.target]).some((t) => t.data === s.target.data),
        );
      if (!aligned || readBetween) return;
      redirect.set(j, s.target);
      dropped.add(i);
    });

    // Liveness: the last step reading each buffer.
    const lastUse = new Map<TypedArray, number>();
    steps.forEach((s, i) => {
      if (absorbed.has(i) || dropped.has(i)) return;
      const reads =
        s.kind === 'op'
          ? fusions.has(i)
            ? fusions.get(i)!.leaves.map((l) => l.buffer)
            : s.inputs.map((t) => t.data)
          : [s.value.data];
      for (const b of reads) lastUse.set(b, i);
    });

    // Buffers: escaping results keep their traced storage; the rest share a pool.
    const argSet = new Set(this.argBuffers);
    const planned = new Map<TypedArray, TypedArray>();
    const pool = new Map<string, TypedArray[]>();
    let bufferBytes = 0;
    const resolve = (b: TypedArray): TypedArray => planned.get(b) ?? b;
    const release = (b: TypedArray) => {
      if (!produced.has(b) || escaping.has(b) || argSet.has(b)) return;
      const real = resolve(b);
      const key = `${dtypeName(real)}:${real.length}`;
      const free = pool.get(key) ?? [];
      free.push(real);
      pool.set(key, free);
    };
    const acquire = (t: Tensor): TypedArray => {
      if (escaping.has(t.data)) return t.data;
      const key = `${t.dtype}:${t.data.length}`;
      const reused = pool.get(key)?.pop();
      if (reused) return reused;
      bufferBytes += t.data.byteLength;
      return allocate(t.dtype, t.data.length);
    };

    steps.forEach((s, i) => {
      if (absorbed.has(i) || dropped.has(i)) return;
      if (s.kind === 'assign') {
        const target = s.target.data;
        const value = resolve(s.value.data);
        this.launches.push({ kernel: (o, [v]) => o.set(v!), out: target, ins: [value] });
      } else {
        const fusion = fusions.get(i);
        const target = redirect.get(i);
        const out = target ? target.data : acquire(s.out);
        planned.set(s.out.data, out);
        if (fusion) {
          const kernel = stridedLoop({
            shape: s.out.shape,
            outStrides: stridesOf(s.out.shape),
            inStrides: fusion.leaves.map((l) => broadcastStrides(l.shape, s.out.shape)),
            body: `${fusion.lines.join('\n')}\nO[o] = ${fusion.result};`,
          });
          this.launches.push({ kernel, out, ins: fusion.leaves.map((l) => resolve(l.buffer)) });
        } else {
          const kernel = s.op.kernel(s.inputs, s.out, s.attrs);
          this.launches.push({ kernel, out, ins: s.inputs.map((t) => resolve(t.data)) });
        }
      }
      for (const [b, last] of lastUse) if (last === i) release(b);
    });

    this.bindings = this.argBuffers.map((b) => {
      const sites: { ins: TypedArray[]; at: number }[] = [];
      for (const l of this.launches)
        l.ins.forEach((x, at) => x === b && sites.push({ ins: l.ins, at }));
      return sites;
    });

    this.output = rebuild(result, this.argBuffers, resolve);
    const inPlaceAssigns = redirect.size;
    this.stats = {
      traced: steps.length,
      launches: this.launches.length,
      fused: absorbed.size,
      inPlaceAssigns,
      bufferBytes,
    };
  }

  copyOutputs(args: readonly Tensor[]): Traced {
    return this.output(args);
  }

  run(args: readonly Tensor[]): Traced {
    this.bindings.forEach((sites, k) => {
      const data = args[k]!.data;
      for (const site of sites) site.ins[site.at] = data;
    });
    for (const l of this.launches) l.kernel(l.out, l.ins);
    return this.output(args);
  }
}

/** Rounds an intermediate to its dtype, as storing it in a typed array would. */
function rounded(expr: string, dtype: DType): string {
  if (dtype === 'float32') return `Math.fround(${expr})`;
  if (dtype === 'int32') return `((${expr}) | 0)`;
  return `(${expr})`;
}

function dtypeName(b: TypedArray): DType {
  return b instanceof Float32Array ? 'float32' : b instanceof Float64Array ? 'float64' : 'int32';
}

function forEachTensor(value: Traced, visit: (t: Tensor) => void): void {
  if (value instanceof Tensor) visit(value);
  else if (Array.isArray(value)) value.forEach((v) => forEachTensor(v, visit));
  else if (value && typeof value === 'object') {
    Object.values(value).forEach((v) => forEachTensor(v as Traced, visit));
  }
}

/** A function that rebuilds the traced result's structure from the plan's buffers, copying each tensor. */
function rebuild(
  value: Traced,
  argBuffers: readonly TypedArray[],
  resolve: (b: TypedArray) => TypedArray,
): (args: readonly Tensor[]) => Traced {
  if (value instanceof Tensor) {
    const k = argBuffers.indexOf(value.data);
    const buffer = resolve(value.data);
    const { shape, dtype } = value;
    return (args) => new Tensor((k >= 0 ? args[k]!.data : buffer).slice(), shape, dtype);
  }
  if (Array.isArray(value)) {
    const parts = value.map((v) => rebuild(v, argBuffers, resolve));
    return (args) => parts.map((p) => p(args));
  }
  if (value && typeof value === 'object') {
    const parts = Object.entries(value).map(
      ([k, v]) => [k, rebuild(v as Traced, argBuffers, resolve)] as const,
    );
    return (args) => Object.fromEntries(parts.map(([k, p]) => [k, p(args)]));
  }
  return () => undefined;
}
