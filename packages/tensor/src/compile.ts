import {
  allocate,
  type DType,
  dtypeOf,
  kernelOutput,
  poisonOutputs,
  type TypedArray,
} from './dtype.js';
import { isTracing, isTransforming, withTracer } from './engine.js';
import { CompileError, fmt } from './errors.js';
import { isGradEnabled } from './grad-mode.js';
import { freePinned, pinnedArray, pointerOf } from './kernels/memory.js';
import { runRowChain } from './kernels/row-split.js';
import { broadcastStrides, stridedLoop } from './kernels/strided.js';
import { type LoopNode, loopProgram, wasmLoop } from './kernels/wasm-loop.js';
import type { Kernel, Op, Spec } from './op.js';
import { type Shape, sameShape, sizeOf, stridesOf } from './shape.js';
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
 *    its target, and later reads of the value read the target;
 *  - neighbouring loops over one shape merge into one loop storing several
 *    results (an optimiser's updates of m, v and the weight: one pass);
 *  - loops of float32 ops that WebAssembly SIMD computes exactly are emitted
 *    as WebAssembly, four lanes at a time, with the same bits;
 *  - intermediate results share one arena, each placed by its lifetime, so
 *    memory is reused once a result's last reader has run (planArena); the
 *    arena lives in the WebAssembly kernels' memory where that is shared, so
 *    products and SIMD loops read and write results there in place;
 *  - a gradient the step leaves in a leaf's `.grad` moves there too (the
 *    leaf's `.grad` becomes a tensor over it), so that with pinned
 *    parameters and optimiser buffers the update loop copies nothing;
 *  - every kernel is specialised to its shapes once.
 * Later calls run the kernels in order: no graph, no allocation but the
 * returned values' arrays (a result computed by the plan is written straight
 * into the array handed over; arguments and outside tensors returned are
 * copied).
 */

/** What a compiled function may return: tensors, arrays or plain objects of them. */
export type Traced = Tensor | readonly Traced[] | { readonly [key: string]: Traced } | undefined;

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
  /** Bytes of the arena holding the plan's intermediate results. */
  bufferBytes: number;
  /** Fused loops running as WebAssembly SIMD. */
  simdLoops: number;
}

/** Options of `compile`. */
export interface CompileOptions {
  /**
   * Plans kept, one per signature: calling with a new signature beyond this
   * many drops the least recently used plan (and its buffers), to be traced
   * again if that signature comes back. Default 8.
   */
  maxPlans?: number;
}

/** A compiled function: same signature, plus its plans. */
export type Compiled<F extends (...args: Tensor[]) => Traced> = F & {
  /** Stats of the plans kept (one per signature traced, at most `maxPlans`), least recently used first. */
  plans(): PlanStats[];
  /**
   * Drops every plan and frees its memory now (a later call traces again).
   * For a function that will not be called again: the garbage collector does
   * not see the kernels' memory that plans keep their intermediates in, so it
   * may be slow to free a dropped function's.
   *
   * @example
   * const step = compile(trainStep);
   * for (const [x, y] of batches) step(x, y);
   * step.clear();
   */
  clear(): void;
};

export { CompileError };

/**
 * Compiles a function of tensors (a whole training step: forward, loss,
 * backward, optimiser update) into a replayed plan. A new signature retraces;
 * the `maxPlans` most recently used plans are kept. A plan's intermediate
 * results share one buffer, each result's memory reused once its last reader
 * has run; nothing else of the trace is kept.
 *
 * What a trace captures, and what it refuses:
 *  - arguments are rebound on every call; tensors made outside the step
 *    (parameters, closed-over tensors) are read by reference, so in-place
 *    updates (`assignInPlace`, optimisers) are seen on the next call;
 *  - plain numbers given to ops (`x.mul(0.5)`), shapes, axes, and tensors
 *    whose values follow from shapes (`zeros`, `ones`, `arange`, `eye`,
 *    `oneHot`) are constants of the plan: a number that changes between calls
 *    (a scheduled learning rate) belongs in a tensor updated in place or
 *    passed as an argument;
 *  - reading values while tracing (`item()`, `toArray()`, `data`) throws a
 *    `CompileError` naming the op that produced the tensor: a plan cannot
 *    replay a JavaScript branch on values, so use `where(cond, a, b)`;
 *  - filling a tensor from JavaScript values while tracing (`tensor`,
 *    `full`, `linspace`, `rand`, `randn`, `randint`) throws a `CompileError`:
 *    make it outside and pass it in; random values inside a step come from
 *    random ops such as `bernoulli`, which draw afresh on every replay;
 *  - `.grad`: each call leaves in a leaf's `.grad` what the traced call left
 *    there (the same tensor, its values rewritten). A plan cannot add to a
 *    gradient from before the call, as eager `backward()` would: a step whose
 *    `backward()` finds a gradient it did not clear throws a `CompileError`.
 *    Clear gradients (`opt.zeroGrad()`) before each call or inside the step;
 *    to accumulate over calls, add the gradients up outside the step.
 * The returned tensors hold new arrays on every call, which later calls never
 * write (a result the plan computes is written straight into its new array;
 * a returned gradient, argument or outside tensor is copied). Called while another function is
 * being traced, or inside `jvp` or `vmap`, a compiled function runs as
 * written, so it becomes part of that trace and the transform sees its ops.
 *
 * @example
 * const step = compile((x, y) => {
 *   opt.zeroGrad();
 *   const loss = crossEntropy(model.forward(x), y);
 *   loss.backward();
 *   opt.step();
 *   return loss;
 * });
 * for (const [images, labels] of batches(train, { batchSize: 64 })) step(images, labels);
 */
export function compile<F extends (...args: Tensor[]) => Traced>(
  fn: F,
  options: CompileOptions = {},
): Compiled<F> {
  const maxPlans = options.maxPlans ?? 8;
  if (!Number.isInteger(maxPlans) || maxPlans < 1) {
    throw new CompileError(`compile: maxPlans must be a positive integer, got ${maxPlans}`);
  }
  // In the order of their last use, so that the first is the one to drop.
  const plans = new Map<string, Plan>();
  let last: Plan | undefined;
  const compiled = ((...args: Tensor[]) => {
    for (const a of args) {
      if (!(a instanceof Tensor))
        throw new CompileError('compile: every argument must be a Tensor');
    }
    // Inside another function being traced, or under jvp or vmap, run as
    // written, so that the trace records its ops and the transform sees them.
    // Likewise when a gradient is wanted through an argument: a plan returns
    // values without a graph, and the gradient would silently be zero.
    if (isTracing() || isTransforming() || wantsGradient(args)) return fn(...args);
    // The common case, the signature of the last call, is checked without allocating.
    if (last?.accepts(args)) return last.run(args);
    const key = args
      .map((a) => `${a.dtype}[${a.shape.join(',')}]${a.requiresGrad ? 'g' : ''}`)
      .join(';');
    const plan = plans.get(key);
    if (plan) {
      plans.delete(key);
      plans.set(key, plan);
      last = plan;
      return plan.run(args);
    }
    const recorder = new Recorder(args);
    const result = withTracer(recorder, () => fn(...args));
    const fresh = new Plan(recorder, args, result);
    plans.set(key, fresh);
    for (const [key, old] of plans) {
      if (plans.size <= maxPlans) break;
      plans.delete(key);
      old.free();
    }
    last = fresh;
    return fresh.tracedOutputs(args);
  }) as Compiled<F>;
  compiled.plans = () => [...plans.values()].map((p) => p.stats);
  compiled.clear = () => {
    for (const plan of plans.values()) plan.free();
    plans.clear();
    last = undefined;
  };
  return compiled;
}

function wantsGradient(args: readonly Tensor[]): boolean {
  if (!isGradEnabled()) return false;
  for (const a of args) if (a.requiresGrad) return true;
  return false;
}

// ---- recording -------------------------------------------------------------------

/**
 * A buffer that an op of the step made, as planning knows it: its size and
 * dtype, not the buffer. Recording a step so keeps no more memory alive than
 * running it eagerly; a buffer the plan must keep (a returned result, a
 * gradient) is found again through the tensors holding it.
 */
class Slot {
  readonly length: number;
  readonly byteLength: number;
  private unread: TypedArray | undefined;
  constructor(
    buffer: TypedArray,
    readonly dtype: DType,
  ) {
    this.length = buffer.length;
    this.byteLength = buffer.byteLength;
  }
  /** Somewhere to write a result that nothing reads. */
  sink(): TypedArray {
    this.unread ??= allocate(this.dtype, this.length);
    return this.unread;
  }
}

/** A buffer of a step: one from outside the step (read by reference), or a Slot. */
type Buf = TypedArray | Slot;

/** A tensor as a step saw it. */
interface Value {
  storage: Buf;
  shape: Shape;
  dtype: DType;
  /** The tensor, when it is a leaf that requires a gradient: `backward` may give it a `.grad`. */
  leaf?: Tensor;
}

interface OpStep {
  kind: 'op';
  op: Op<unknown>;
  /** Rewritten by planning to read an assignment's target instead of its value. */
  inputs: Value[];
  attrs: unknown;
  out: Value;
}

interface AssignStep {
  kind: 'assign';
  target: Value;
  /** Rewritten by planning like `OpStep.inputs`. */
  value: Value;
}

type Step = OpStep | AssignStep;

/** How a step that accumulates into `.grad` becomes one a plan can replay. */
const CLEAR_GRADS =
  'Clear gradients before each call (opt.zeroGrad(), or .grad = null) or inside the step before backward(); to accumulate over calls, add the gradients up outside the step';

function leafName(t: Tensor): string {
  return `${t.name === undefined ? 'a leaf' : `'${t.name}'`} of shape ${fmt(t.shape)}`;
}

class Recorder {
  readonly steps: Step[] = [];
  /** The op that made each traced result, and each buffer, for read errors. */
  private readonly made = new WeakMap<Tensor, string>();
  private readonly madeInto = new WeakMap<TypedArray, string>();
  private readonly slots = new WeakMap<TypedArray, Slot>();
  /** Tensors numbered above this one were made while tracing. */
  private readonly firstId = Tensor.scalar(0).id;
  constructor(readonly args: readonly Tensor[]) {}

  /** Leaves whose `.grad` the step assigned (`backward()`, `zeroGrad()`), in order. */
  readonly gradLeaves = new Set<Tensor>();
  /**
   * Leaves whose gradient `backward()` put into an empty `.grad` the step had
   * not cleared: every call must find it empty, since eager would add to it.
   */
  readonly emptyGrads: Tensor[] = [];

  grad(t: Tensor, from: Tensor | null, to: Tensor | null): void {
    if (this.gradLeaves.has(t)) return;
    this.gradLeaves.add(t);
    if (to === null) return; // cleared by the step: whatever a call finds there is replaced
    if (from === null) {
      this.emptyGrads.push(t);
      return;
    }
    throw new CompileError(
      `compile: this step adds to the .grad of ${leafName(t)}, which holds a gradient from before the call; a plan would add to the values it traced on every call. ${CLEAR_GRADS}`,
    );
  }

  op(op: Op<unknown>, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void {
    this.made.set(out, op.name);
    if (op.alias) return; // shares its input's buffer: nothing to replay
    this.madeInto.set(out.storage, op.name);
    const ins = inputs.map((t) => this.value(t));
    this.slots.set(out.storage, new Slot(out.storage, out.dtype));
    this.steps.push({ kind: 'op', op, inputs: ins, attrs, out: this.value(out) });
  }

  /** The Slot standing for a buffer an op of the step made, else the buffer. */
  buf(b: TypedArray): Buf {
    return this.slots.get(b) ?? b;
  }

  private value(t: Tensor): Value {
    const v: Value = { storage: this.buf(t.storage), shape: t.shape, dtype: t.dtype };
    if (t.requiresGrad && !t.node) v.leaf = t;
    return v;
  }

  read(t: Tensor, how: string): void {
    const op = this.made.get(t) ?? this.madeInto.get(t.storage);
    const arg = this.args.findIndex((a) => a.storage === t.storage);
    let what: string;
    if (op !== undefined) what = `the result of ${op}`;
    else if (arg >= 0) what = `argument ${arg}`;
    else if (t.id > this.firstId)
      return; // a constant made inside the step: it is the same every call
    else
      what =
        'a tensor from outside the step (a parameter or a closed-over tensor, read by reference)';
    throw new CompileError(
      `compile: ${how} reads the values of ${what} ${fmt(t.shape)} while tracing; the plan cannot ` +
        'replay a decision taken on values, so it would reuse these ones on every call. Compute with ' +
        'tensor ops instead: pick between results with where(cond, a, b) rather than a JavaScript ' +
        'branch, and pass values that change between calls in as arguments.',
    );
  }

  fill(what: string): void {
    throw new CompileError(
      `compile: ${what} fills a tensor from JavaScript values while tracing; the plan would keep ` +
        "this call's values on every replay. Create it outside the step and pass it in as an " +
        'argument, or draw random values with a random op such as bernoulli.',
    );
  }

  assign(target: Tensor, value: Tensor): void {
    this.steps.push({ kind: 'assign', target: this.value(target), value: this.value(value) });
  }
}

// ---- planning --------------------------------------------------------------------

/** A slot read through strides: a buffer seen with a shape. */
interface Leaf {
  buffer: Buf;
  shape: Shape;
  dtype: DType;
}

/** One elementwise loop: statements over leaf variables `x0 …`, results stored to buffers. */
interface Loop {
  kind: 'loop';
  shape: Shape;
  leaves: Leaf[];
  lines: string[];
  /** The same statements as data, for lowering to WebAssembly. */
  nodes: LoopNode[];
  /** Variable holding each stored result, and the traced buffer it stands for. */
  stores: { value: string; buffer: Buf; target: Value | null; dtype: DType }[];
}

/** Any other op: its own kernel. */
interface Call {
  kind: 'call';
  step: OpStep;
}

/** An assignment left as a copy. */
interface Copy {
  kind: 'copy';
  target: Value;
  value: Buf;
}

type Item = Loop | Call | Copy;

/** One kernel call of a replay. */
interface Launch {
  kernel: Kernel;
  out: TypedArray;
  ins: TypedArray[];
}

const reads = (s: Step): Value[] => (s.kind === 'op' ? s.inputs : [s.value]);

/**
 * After `assign(T, V)`, later reads of V may read T instead (until T is
 * written again): then V's only reader is often the assignment, and the loop
 * computing V can store straight into T.
 */
function readTargetsAfterAssign(steps: Step[]): void {
  steps.forEach((s, i) => {
    if (
      s.kind !== 'assign' ||
      s.target.dtype !== s.value.dtype ||
      sizeOf(s.target.shape) !== sizeOf(s.value.shape)
    )
      return;
    const { target, value } = s;
    for (let j = i + 1; j < steps.length; j++) {
      const later = steps[j]!;
      if (later.kind === 'assign' && later.target.storage === target.storage) break;
      if (later.kind === 'op') {
        later.inputs = later.inputs.map((t) =>
          t.storage === value.storage
            ? { storage: target.storage, shape: t.shape, dtype: t.dtype }
            : t,
        );
      } else if (later.value.storage === value.storage) {
        later.value = {
          storage: target.storage,
          shape: later.value.shape,
          dtype: later.value.dtype,
        };
      }
    }
  });
}

/**
 * Each leaf's gradient array in the kernels' memory, made by the first plan
 * that leaves it a gradient and written by every later one.
 */
const gradHomes = new WeakMap<Tensor, TypedArray>();

class Plan {
  readonly stats: PlanStats;
  private readonly launches: Launch[] = [];
  /** The launches in the order a replay runs them, each chain of row-local ones as one. */
  private readonly schedule: Launch[] = [];
  /** Per argument: the launches' input arrays (and positions) that read it. */
  private readonly bindings: { ins: TypedArray[]; at: number }[][];
  private readonly argBuffers: TypedArray[];
  private readonly output: Output;
  /** The traced arrays of the `fresh` results, until `tracedOutputs` hands them over. */
  private traced: TypedArray[];
  /** Returned results written into a new array each call: where the launches hold them. */
  private readonly fresh: {
    dtype: DType;
    length: number;
    outs: Launch[];
    sites: { ins: TypedArray[]; at: number }[];
  }[];
  private readonly signature: { shape: Shape; dtype: DType; requiresGrad: boolean }[];
  /** The leaves whose `.grad` the step sets, and what it sets them to (the plan rewrites its values). */
  private readonly gradsAfter: [Tensor, Tensor | null][];
  /** Leaves whose `.grad` must be empty when a call starts (see `Recorder.emptyGrads`). */
  private readonly emptyGrads: readonly Tensor[];
  /** The arena's whole view: its memory in the kernels' memory is freed once this is collected, or by `free`. */
  private readonly arena: Float32Array;

  /** Frees the arena at once: the plan was dropped from its cache and never runs again. */
  free(): void {
    freePinned(this.arena);
  }

  constructor(recorder: Recorder, args: readonly Tensor[], result: Traced) {
    const steps = recorder.steps;
    this.signature = args.map(({ shape, dtype, requiresGrad }) => ({ shape, dtype, requiresGrad }));
    this.argBuffers = args.map((a) => a.storage);
    readTargetsAfterAssign(steps);

    const producer = new Map<Buf, OpStep>();
    for (const s of steps) if (s.kind === 'op') producer.set(s.out.storage, s);

    // Buffers that must keep their identity: returned, or reachable as `.grad`;
    // the tensors holding them give the buffers themselves.
    const escaping = new Set<Buf>();
    const kept = new Map<Slot, TypedArray>();
    const keep = (t: Tensor) => {
      const b = recorder.buf(t.storage);
      escaping.add(b);
      if (b instanceof Slot) kept.set(b, t.storage);
      return b;
    };
    const returned = new Set<Buf>();
    forEachTensor(result, (t) => returned.add(keep(t)));
    // A gradient the step leaves in a leaf's `.grad` moves into the kernels'
    // memory: the product making it writes it there and the optimiser's loop
    // reads it there, every replay, with no copy out or in. A leaf keeps one
    // such array across plans (a new signature writes the same `.grad`),
    // unless this step reads it (a gradient accumulated onto the last one).
    const grads = new Set<Buf>();
    const homes = new Map<Slot, TypedArray>();
    const read = new Set<Buf>();
    for (const s of steps) for (const t of reads(s)) read.add(t.storage);
    for (const s of steps) {
      for (const t of [...reads(s), ...(s.kind === 'assign' ? [s.target] : [])]) {
        const g = t.leaf?.grad;
        if (!g) continue;
        const b = recorder.buf(g.storage);
        if (!(b instanceof Slot) || g.node || pointerOf(g.storage) >= 0) {
          grads.add(keep(g));
          continue;
        }
        let home = homes.get(b);
        if (!home) {
          const last = gradHomes.get(t.leaf!);
          home =
            last && last.length === g.storage.length && dtypeOf(last) === g.dtype && !read.has(last)
              ? last
              : pinnedArray(g.dtype, g.storage.length);
          home.set(g.storage);
          homes.set(b, home);
          if (pointerOf(home) >= 0) gradHomes.set(t.leaf!, home);
        }
        if (pointerOf(home) < 0) {
          grads.add(keep(g)); // the memory cannot be shared here: the traced buffer it is
          continue;
        }
        t.leaf!.grad = new Tensor(home, g.shape, g.dtype);
        grads.add(b);
        escaping.add(b);
        kept.set(b, home);
      }
    }

    // Each call leaves in `.grad` what the traced call left there.
    this.gradsAfter = [...recorder.gradLeaves].map((t) => [t, t.grad]);
    this.emptyGrads = recorder.emptyGrads;

    const uses = new Map<Buf, number>();
    for (const s of steps)
      for (const t of reads(s)) uses.set(t.storage, (uses.get(t.storage) ?? 0) + 1);

    // 1. Fusion: an elementwise result read once, by an elementwise op of the
    // same shape, is computed inside that op's loop and never stored.
    const inlinable = (t: Value, shape: Shape): OpStep | undefined => {
      const s = producer.get(t.storage);
      const ok =
        s?.op.expr !== undefined &&
        uses.get(t.storage) === 1 &&
        !escaping.has(t.storage) &&
        sameShape(s.out.shape, shape) &&
        sameShape(t.shape, shape);
      return ok ? s : undefined;
    };
    const loops = new Map<OpStep, Loop>();
    const absorbed = new Set<OpStep>();
    let temp = 0;
    for (const s of steps) {
      if (s.kind !== 'op' || s.op.expr === undefined) continue;
      const loop: Loop = {
        kind: 'loop',
        shape: s.out.shape,
        leaves: [],
        lines: [],
        nodes: [],
        stores: [],
      };
      const leaf = (t: Value): string => {
        let k = loop.leaves.findIndex((l) => l.buffer === t.storage && sameShape(l.shape, t.shape));
        if (k < 0) k = loop.leaves.push({ buffer: t.storage, shape: t.shape, dtype: t.dtype }) - 1;
        return `x${k}`;
      };
      const expand = (step: OpStep): string => {
        const names = step.inputs.map((t) => {
          const inner = inlinable(t, s.out.shape);
          if (!inner) return leaf(t);
          absorbed.add(inner);
          return expand(inner);
        });
        const expr = step.op.expr!.replace(/\bx(\d+)\b/g, (_, k: string) => names[Number(k)]!);
        const name = `t${temp++}`;
        loop.lines.push(`const ${name} = ${rounded(expr, step.out.dtype)};`);
        loop.nodes.push({ name, op: step.op.name, args: names, dtype: step.out.dtype });
        return name;
      };
      loop.stores.push({
        value: expand(s),
        buffer: s.out.storage,
        target: null,
        dtype: s.out.dtype,
      });
      loops.set(s, loop);
    }

    // 2. Items in order; an assignment whose value a loop computes and nobody
    // else reads becomes that loop storing into the target, provided nothing
    // reads the target in between and the loop reads it only element-aligned.
    const items: Item[] = [];
    const itemOf = new Map<Buf, Loop>();
    steps.forEach((s, i) => {
      if (s.kind === 'op') {
        if (absorbed.has(s)) return;
        const loop = loops.get(s);
        if (loop) {
          items.push(loop);
          itemOf.set(s.out.storage, loop);
        } else items.push({ kind: 'call', step: s });
        return;
      }
      const loop = itemOf.get(s.value.storage);
      const from = loop ? steps.indexOf(producer.get(s.value.storage)!) : -1;
      const ok =
        loop !== undefined &&
        uses.get(s.value.storage) === 1 &&
        !escaping.has(s.value.storage) &&
        s.target.dtype === s.value.dtype &&
        sizeOf(s.target.shape) === sizeOf(s.value.shape) &&
        loop.leaves.every((l) => l.buffer !== s.target.storage || sameShape(l.shape, loop.shape)) &&
        !steps.slice(from + 1, i).some((m) => reads(m).some((t) => t.storage === s.target.storage));
      if (ok) {
        const store = loop.stores.find((st) => st.buffer === s.value.storage)!;
        store.target = s.target;
      } else items.push({ kind: 'copy', target: s.target, value: s.value.storage });
    });

    // 3. Neighbouring loops over one shape become one loop storing several
    // results, when every buffer one writes and the other touches is accessed
    // element-aligned by both: a later loop then reads an earlier result from
    // its variable instead of memory.
    const written = (l: Loop) => l.stores.map((st) => st.target?.storage ?? st.buffer);
    const merged: Item[] = [];
    for (const item of items) {
      const prev = merged[merged.length - 1];
      if (item.kind === 'loop' && prev?.kind === 'loop' && sameShape(prev.shape, item.shape)) {
        const aligned = (reader: Loop, buffers: Buf[]) =>
          reader.leaves.every(
            (l) => !buffers.includes(l.buffer) || sameShape(l.shape, reader.shape),
          );
        const outs = written(prev);
        if (
          aligned(item, outs) &&
          aligned(prev, written(item)) &&
          !written(item).some((b) => outs.includes(b))
        ) {
          const rename = new Map<string, string>();
          item.leaves.forEach((l, k) => {
            const j = prev.stores.findIndex((st) => (st.target?.storage ?? st.buffer) === l.buffer);
            if (j >= 0) rename.set(`x${k}`, prev.stores[j]!.value);
            else {
              let at = prev.leaves.findIndex(
                (p) => p.buffer === l.buffer && sameShape(p.shape, l.shape),
              );
              if (at < 0) at = prev.leaves.push(l) - 1;
              rename.set(`x${k}`, `x${at}`);
            }
          });
          const sub = (line: string) => line.replace(/\bx(\d+)\b/g, (v) => rename.get(v)!);
          prev.lines.push(...item.lines.map(sub));
          prev.nodes.push(
            ...item.nodes.map((n) => ({ ...n, args: n.args.map((a) => rename.get(a) ?? a) })),
          );
          prev.stores.push(...item.stores);
          continue;
        }
      }
      merged.push(item);
    }

    // 4. Liveness: the last item reading each buffer.
    const readsOf = (item: Item): Buf[] =>
      item.kind === 'loop'
        ? item.leaves.map((l) => l.buffer)
        : item.kind === 'call'
          ? item.step.inputs.map((t) => t.storage)
          : [item.value];
    const lastUse = new Map<Buf, number>();
    merged.forEach((item, i) => {
      for (const b of readsOf(item)) lastUse.set(b, i);
    });

    // 5. Which results get a planned buffer, and for which items: each call's
    // result, and each loop result read later (one nobody reads is not stored).
    // Escaping results keep their traced storage.
    const stored = merged.map((item, i) =>
      item.kind === 'loop'
        ? item.stores.filter(
            (st) => st.target || escaping.has(st.buffer) || (lastUse.get(st.buffer) ?? -1) > i,
          )
        : [],
    );
    const lifetimes: Lifetime[] = [];
    merged.forEach((item, i) => {
      const made =
        item.kind === 'call'
          ? [item.step.out.storage]
          : stored[i]!.filter((st) => !st.target).map((st) => st.buffer);
      for (const b of made) {
        if (!escaping.has(b)) lifetimes.push({ buffer: b, from: i, to: lastUse.get(b) ?? i });
      }
    });
    // 6. Kernels, each specialised to its shapes (they see shapes and dtypes
    // only, so none keeps a traced buffer alive), and the chains of row-local
    // ones a replay runs as one job per block of rows: every buffer such a
    // chain touches lives through the whole chain, since a block of rows may
    // run its last step while another has not run its first.
    let simdLoops = 0;
    const kernels = merged.map((item, i): Kernel | null => {
      if (item.kind === 'copy') return copy;
      if (item.kind === 'call') {
        const s = item.step;
        const ins = s.inputs.map(specOf);
        const out = specOf(s.out);
        const kernel = s.op.kernel(ins, out, s.attrs);
        const rows = s.op.rowSplit?.(ins, out, s.attrs);
        return rows
          ? Object.assign((o: TypedArray, i: readonly TypedArray[]) => kernel(o, i), { rows })
          : kernel;
      }
      const kernel = stored[i]!.length > 0 ? loopKernel(item, stored[i]!) : null;
      if (kernel?.simd) simdLoops++;
      return kernel?.run ?? null;
    });
    const chains = rowChains(merged, kernels, stored);
    for (const [from, to] of chains) {
      for (const l of lifetimes) {
        if ((l.from >= from && l.from <= to) || (l.to >= from && l.to <= to)) {
          l.from = Math.min(l.from, from);
          l.to = Math.max(l.to, to);
        }
      }
    }
    const { views: planned, bytes: bufferBytes, arena } = planArena(lifetimes);
    this.arena = arena;
    const resolve = (b: Buf): TypedArray =>
      b instanceof Slot ? (planned.get(b) ?? kept.get(b) ?? b.sink()) : b;

    let inPlaceAssigns = 0;
    const writes = new Set<TypedArray>();
    const launchOf = new Map<number, Launch>();
    merged.forEach((item, i) => {
      const kernel = kernels[i];
      if (!kernel) return;
      let launch: Launch;
      if (item.kind === 'copy') {
        launch = { kernel, out: resolve(item.target.storage), ins: [resolve(item.value)] };
      } else if (item.kind === 'call') {
        const s = item.step;
        launch = {
          kernel,
          out: resolve(s.out.storage),
          ins: s.inputs.map((t) => resolve(t.storage)),
        };
      } else {
        const ins = item.leaves.map((l) => resolve(l.buffer));
        const outs = stored[i]!.map((st) => {
          if (!st.target) return resolve(st.buffer);
          inPlaceAssigns++;
          return resolve(st.target.storage);
        });
        launch = { kernel, out: outs[0]!, ins: [...ins, ...outs.slice(1)] };
        for (const o of outs.slice(1)) writes.add(o);
      }
      writes.add(launch.out);
      this.launches.push(launch);
      launchOf.set(i, launch);
    });
    // What a replay runs in order: launches, and chains of them run by runRowChain.
    const chained = new Map<number, [number, number]>(chains.map((c) => [c[0], c]));
    for (let i = 0; i < merged.length; i++) {
      const chain = chained.get(i);
      if (!chain) {
        const l = launchOf.get(i);
        if (l) this.schedule.push(l);
        continue;
      }
      const steps: Launch[] = [];
      for (let j = chain[0]; j <= chain[1]; j++) steps.push(launchOf.get(j)!);
      this.schedule.push({ kernel: () => runRowChain(steps), out: steps[0]!.out, ins: [] });
      i = chain[1];
    }

    this.bindings = this.argBuffers.map((b) => {
      const sites: { ins: TypedArray[]; at: number }[] = [];
      for (const l of this.launches) {
        l.ins.forEach((x, at) => {
          if (x === b) sites.push({ ins: l.ins, at });
        });
      }
      return sites;
    });

    // A returned result that the launches write (not a gradient, which keeps
    // its array) is written into a new array on each call and handed over as
    // it is: copying it out of the plan's array would write it twice (3 MB per
    // call for vmap(grad)'s per-example weight gradients). Every launch
    // holding it is rebound before any runs, so no call writes an array a
    // caller holds.
    const fresh = [...returned].filter(
      (b): b is Slot => b instanceof Slot && !grads.has(b) && writes.has(resolve(b)),
    );
    this.fresh = fresh.map((slot) => {
      const traced = resolve(slot);
      const outs = this.launches.filter((l) => l.out === traced);
      const sites: { ins: TypedArray[]; at: number }[] = [];
      for (const l of this.launches) {
        l.ins.forEach((x, at) => {
          if (x === traced) sites.push({ ins: l.ins, at });
        });
      }
      return { dtype: slot.dtype, length: slot.length, outs, sites };
    });
    this.output = rebuild(result, this.argBuffers, (b) => {
      const slot = recorder.buf(b);
      const k = fresh.indexOf(slot as Slot);
      return { buffer: k < 0 ? resolve(slot) : null, fresh: k };
    });
    this.traced = fresh.map(resolve);
    this.stats = {
      traced: steps.length,
      launches: this.launches.length,
      fused: steps.length - this.launches.length,
      inPlaceAssigns,
      bufferBytes,
      simdLoops,
    };
  }

  /** Whether `args` have the signature this plan was traced for. */
  accepts(args: readonly Tensor[]): boolean {
    const sig = this.signature;
    if (args.length !== sig.length) return false;
    for (let k = 0; k < args.length; k++) {
      const a = args[k]!;
      const s = sig[k]!;
      if (
        a.dtype !== s.dtype ||
        a.requiresGrad !== s.requiresGrad ||
        !sameShape(a.shape, s.shape)
      ) {
        return false;
      }
    }
    return true;
  }

  /**
   * The results of the call that traced the plan: the arrays the trace wrote
   * its returned results into are handed over (no launch writes them once
   * `run` has rebound new ones), the rest copied.
   */
  tracedOutputs(args: readonly Tensor[]): Traced {
    const made = this.traced;
    this.traced = [];
    return this.output(args, made);
  }

  run(args: readonly Tensor[]): Traced {
    for (const t of this.emptyGrads) {
      if (t.grad !== null) {
        throw new CompileError(
          `compile: the .grad of ${leafName(t)} holds a gradient from an earlier call, and this step's backward() adds to it; a plan replays the gradient it traced and would replace it. ${CLEAR_GRADS}`,
        );
      }
    }
    this.bindings.forEach((sites, k) => {
      const data = args[k]!.storage;
      for (const site of sites) site.ins[site.at] = data;
    });
    const made = this.fresh.map(({ dtype, length, outs, sites }) => {
      const data = kernelOutput(dtype, length);
      for (const l of outs) l.out = data;
      for (const site of sites) site.ins[site.at] = data;
      return data;
    });
    for (const l of this.schedule) l.kernel(l.out, l.ins);
    for (const [t, g] of this.gradsAfter) t.grad = g;
    return this.output(args, made);
  }
}

/** An assignment left as a copy. */
const copy: Kernel = (o, [v]) => o.set(v!);

/**
 * The chains of row-local kernels (row-split.ts) among the items, as
 * [first, last] item numbers: neighbours over the same rows, where a step
 * reads what an earlier step of the chain wrote only row by row, and writes
 * nothing an earlier step read or wrote (so a block of rows may run the
 * whole chain while another block has not started it). Two steps at least.
 */
function rowChains(
  items: readonly Item[],
  kernels: readonly (Kernel | null)[],
  stored: readonly Loop['stores'][],
): [number, number][] {
  const chains: [number, number][] = [];
  let from = -1;
  const read = new Set<Buf>();
  const written = new Set<Buf>();
  const splits = new Set<unknown>();
  const close = (to: number) => {
    if (from >= 0 && to > from) chains.push([from, to]);
    from = -1;
    read.clear();
    written.clear();
    splits.clear();
  };
  items.forEach((item, i) => {
    const rows = kernels[i]?.rows;
    if (!rows || item.kind === 'copy') {
      close(i - 1);
      return;
    }
    const reads =
      item.kind === 'call'
        ? item.step.inputs.map((t) => t.storage)
        : item.leaves.map((l) => l.buffer);
    const writes =
      item.kind === 'call'
        ? [item.step.out.storage]
        : stored[i]!.map((st) => st.target?.storage ?? st.buffer);
    const whole = reads.filter((_, k) => !rows.rowInputs.includes(k));
    // A step reading whole what it writes cannot run in blocks at all.
    if (whole.some((b) => writes.includes(b))) {
      close(i - 1);
      return;
    }
    const joins =
      from >= 0 &&
      rows.rows === kernels[from]!.rows!.rows &&
      !splits.has(rows) &&
      !whole.some((b) => written.has(b)) &&
      !writes.some((b) => read.has(b) || written.has(b));
    if (!joins) {
      close(i - 1);
      from = i;
    }
    splits.add(rows);
    for (const b of reads) read.add(b);
    for (const b of writes) written.add(b);
  });
  close(items.length - 1);
  return chains;
}

const specOf = ({ shape, dtype }: Value): Spec => ({ shape, dtype });

/** A loop's kernel, storing `live` (in order: the launch's `out`, then extra inputs). */
function loopKernel(loop: Loop, live: Loop['stores']): { run: Kernel; simd: boolean } {
  const values = live.map((st) => st.value);
  const lowered = lowerLoop(loop, values);
  if (lowered) return { run: lowered, simd: true };
  const run = stridedLoop({
    shape: loop.shape,
    outStrides: stridesOf(loop.shape),
    inStrides: loop.leaves.map((l) => broadcastStrides(l.shape, loop.shape)),
    body: [
      ...loop.lines,
      ...values.map((v, j) => (j === 0 ? `O[o] = ${v};` : `S${j - 1}[o] = ${v};`)),
    ].join('\n'),
    stores: Math.max(values.length - 1, 0),
  });
  return { run, simd: false };
}

/**
 * The loop as WebAssembly SIMD, when every op lowers exactly, everything is
 * float32, and every leaf is read whole, is one broadcast value, or is a row
 * or a per-plane value broadcast down the loop (a bias); else null.
 */
function lowerLoop(loop: Loop, stores: string[]): Kernel | null {
  if (!loop.leaves.every((l) => l.dtype === 'float32')) return null;
  const program = loopProgram(
    loop.shape,
    loop.leaves.map((l) => l.shape),
    loop.nodes,
    stores,
  );
  return program && wasmLoop(program);
}

/** Rounds an intermediate to its dtype, as storing it in a typed array would. */
function rounded(expr: string, dtype: DType): string {
  if (dtype === 'float32') return `Math.fround(${expr})`;
  if (dtype === 'int32') return `((${expr}) | 0)`;
  return `(${expr})`;
}

/** A planned result: written by item `from`, last read by item `to`. */
export interface Lifetime {
  buffer: Buf;
  from: number;
  to: number;
}

let poison = false;

/**
 * Fills every new plan's arena with NaN (int32 views then read 2143289344),
 * so that a kernel that reads memory it has not written, or counts on fresh
 * zeros, gives a wrong answer that shows. For tests: it touches the whole
 * arena while the trace is still alive.
 */
export function poisonArenas(on: boolean): void {
  poison = on;
  poisonOutputs(on);
}

const VIEWS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/** Offsets in the arena are multiples of this (a SIMD vector, and every dtype's size). */
const ALIGN = 16;

/**
 * One arena for a plan's intermediate results, each placed at a byte offset
 * that no result alive at the same time overlaps: largest first, each at the
 * lowest offset free during its lifetime (greedy by size, as TensorFlow
 * Lite's arena planner). A result's memory is reused once its last reader
 * has run, so a deep chain needs a few results' worth, not one per op; a
 * result never shares memory with an input of the item writing it (their
 * lifetimes meet at that item). Returns each traced buffer's view of the
 * arena. The arena starts filled with NaN so that a kernel reading what it has
 * not written shows at once when `poisonArenas` is on (tests).
 */
export function planArena(lifetimes: readonly Lifetime[]): {
  views: Map<Buf, TypedArray>;
  bytes: number;
  /** A view of the whole arena: whoever uses the views holds it (a pinned block lives as long as it). */
  arena: Float32Array;
} {
  const size = (l: Lifetime) => Math.ceil(l.buffer.byteLength / ALIGN) * ALIGN;
  const order = lifetimes
    .map((l, k) => ({ l, k, bytes: size(l) }))
    .sort((a, b) => b.bytes - a.bytes || a.l.from - b.l.from || a.k - b.k);
  const placed: { from: number; to: number; at: number; bytes: number }[] = [];
  const offsets = new Map<Buf, number>();
  let end = 0;
  for (const { l, bytes } of order) {
    const clashes = placed
      .filter((p) => p.from <= l.to && l.from <= p.to)
      .sort((a, b) => a.at - b.at);
    let at = 0;
    for (const p of clashes) {
      if (at + bytes <= p.at) break;
      at = Math.max(at, p.at + p.bytes);
    }
    placed.push({ from: l.from, to: l.to, at, bytes });
    offsets.set(l.buffer, at);
    end = Math.max(end, at + bytes);
  }
  // In the kernels' memory (pinned), where products and loops work in place.
  const arena = pinnedArray('float32', end / 4);
  if (poison) arena.fill(Number.NaN);
  const views = new Map<Buf, TypedArray>();
  for (const [b, at] of offsets) {
    const dtype = b instanceof Slot ? b.dtype : dtypeOf(b)!;
    views.set(b, new VIEWS[dtype](arena.buffer, arena.byteOffset + at, b.length));
  }
  return { views, bytes: end, arena };
}

function forEachTensor(value: Traced, visit: (t: Tensor) => void): void {
  if (value instanceof Tensor) visit(value);
  else if (Array.isArray(value)) for (const v of value) forEachTensor(v, visit);
  else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) forEachTensor(v as Traced, visit);
  }
}

/**
 * A function that rebuilds the traced result's structure from the plan's
 * buffers: a result written into a new array this call (`fresh`, its index
 * in the call's `made`) is handed over, any other copied. The closures it
 * returns hold the buffers they copy and nothing of the trace.
 */
function rebuild(
  value: Traced,
  argBuffers: readonly TypedArray[],
  resolve: (b: TypedArray) => { buffer: TypedArray | null; fresh: number },
): Output {
  if (value instanceof Tensor) {
    const k = argBuffers.indexOf(value.storage);
    if (k >= 0) return copyOut(k, null, -1, value.shape, value.dtype);
    const { buffer, fresh } = resolve(value.storage);
    return copyOut(-1, buffer, fresh, value.shape, value.dtype);
  }
  if (Array.isArray(value)) return arrayOut(value.map((v) => rebuild(v, argBuffers, resolve)));
  if (value && typeof value === 'object') {
    return objectOut(
      Object.entries(value).map(
        ([k, v]) => [k, rebuild(v as Traced, argBuffers, resolve)] as const,
      ),
    );
  }
  return () => undefined;
}

/** The result of a call from its arguments and the arrays it wrote results into. */
type Output = (args: readonly Tensor[], made: readonly TypedArray[]) => Traced;

function copyOut(
  k: number,
  buffer: TypedArray | null,
  fresh: number,
  shape: Shape,
  dtype: DType,
): Output {
  return (args, made) =>
    fresh >= 0
      ? new Tensor(made[fresh]!, shape, dtype)
      : new Tensor((buffer ?? args[k]!.storage).slice(), shape, dtype);
}

function arrayOut(parts: Output[]): Output {
  return (args, made) => parts.map((p) => p(args, made));
}

function objectOut(parts: (readonly [string, Output])[]): Output {
  return (args, made) => Object.fromEntries(parts.map(([k, p]) => [k, p(args, made)]));
}
