import {
  type DType,
  type Op,
  Tensor,
  type Tracer,
  withGradMode,
  withTracer,
  zeros,
} from '@neurite/tensor';
import { OnnxExportError } from './errors.js';
import { type Dim, GraphBuilder, supportedOpsets } from './graph.js';
import { type EmitContext, emitters, type ResolvedDim, refusals, type Step } from './ops.js';

/** A module as the exporter sees it: nn's `Module` fits, and so does any object with `forward`. */
export interface ForwardModule {
  forward(...inputs: Tensor[]): Tensor;
  /** Evaluation mode is switched on during the export and restored after it. */
  training?: boolean;
  train?(on: boolean): unknown;
  namedModules?(): Iterable<[string, object]>;
  /** A model built from a spec (nn's `buildModel`) knows its sample shape: the default input is ['batch', ...spec.input]. */
  spec?: { input: readonly number[] } | undefined;
}

/** What can be exported: a module, or a plain function of tensors. */
export type Exportable = ForwardModule | ((...inputs: Tensor[]) => Tensor | readonly Tensor[]);

/** Options of `toOnnx`. */
export interface ToOnnxOptions {
  /**
   * The shape of the single input. A string names a dynamic dimension (`'batch'`): the
   * exported model accepts any size there, e.g. `['batch', 784]`. Default, for a model
   * built from a spec: `['batch', ...spec.input]`.
   */
  inputShape?: readonly Dim[];
  /** The shapes of several inputs, in the order `forward` takes them. */
  inputShapes?: readonly (readonly Dim[])[];
  /** The dtype of each input. Default `float32` for every input. */
  inputDtypes?: readonly DType[];
  /** The ONNX opset the model declares and uses: 17 to 21. Default 18. */
  opset?: number;
  /** Names of the graph's inputs. Default `input` (`input_0`, `input_1`, … for several). */
  inputNames?: readonly string[];
  /** Names of the graph's outputs. Default `output` (`output_0`, … for several). */
  outputNames?: readonly string[];
  /** The graph's name. Default `neurite`. */
  graphName?: string;
}

/** The default opset: the first with every reduction's axes as an input. */
export const DEFAULT_OPSET = 18;

const VERSION = '0.0.0';

/** A traced run: every primitive op in order, and the module each ran in. */
interface Trace {
  inputs: Tensor[];
  steps: Step[];
  where: string[];
  outputs: Tensor[];
}

interface SymbolInfo {
  name: string;
  input: number;
  axis: number;
  a: number;
  b: number;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Runs `fn` on `inputs` recording every op; each op is told which module's forward it ran in. */
function trace(model: Exportable, inputs: Tensor[]): Trace {
  const steps: Step[] = [];
  const where: string[] = [];
  const path: string[] = [];
  const tracer: Tracer = {
    op(op: Op<unknown>, opInputs: readonly Tensor[], attrs: unknown, out: Tensor) {
      steps.push({ op: op.name, inputs: opInputs.slice(), attrs, out });
      where.push(path.at(-1) ?? '');
    },
    assign(target: Tensor) {
      throw new OnnxExportError(
        `toOnnx: the forward pass writes into a tensor of shape ${fmt(target.shape)} in place (${path.at(-1) || 'at the top level'}); a graph cannot update state: export in evaluation mode`,
      );
    },
  };
  const restore: (() => void)[] = [];
  if (typeof model !== 'function' && typeof model.namedModules === 'function') {
    for (const [name, m] of model.namedModules()) {
      const sub = m as { forward?: unknown };
      if (typeof sub.forward !== 'function') continue;
      const original = sub.forward as (...xs: Tensor[]) => Tensor;
      const own = Object.getOwnPropertyDescriptor(sub, 'forward');
      const label = `${name || '(model)'} (${m.constructor.name})`;
      sub.forward = function (this: unknown, ...xs: Tensor[]) {
        path.push(label);
        try {
          return original.apply(this, xs);
        } finally {
          path.pop();
        }
      };
      restore.push(() => {
        if (own) Object.defineProperty(sub, 'forward', own);
        else delete sub.forward;
      });
    }
  }
  try {
    const result = withGradMode(false, () =>
      withTracer(tracer, () =>
        typeof model === 'function' ? model(...inputs) : model.forward(...inputs),
      ),
    );
    const outputs = result instanceof Tensor ? [result] : [...result];
    for (const o of outputs) {
      if (!(o instanceof Tensor))
        throw new OnnxExportError(
          'toOnnx: the forward function must return a tensor or an array of tensors',
        );
    }
    return { inputs, steps, where, outputs };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}

/** Every tensor a module holds, by its state-dict path, so initializers keep those names. */
function tensorNames(model: Exportable): Map<Tensor, string> {
  const names = new Map<Tensor, string>();
  if (typeof model === 'function' || typeof model.namedModules !== 'function') return names;
  for (const [path, m] of model.namedModules()) {
    for (const [key, value] of Object.entries(m)) {
      const items: [string, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [`${key}.${i}`, v])
        : [[key, value]];
      for (const [name, item] of items) {
        if (item instanceof Tensor && !names.has(item))
          names.set(item, path ? `${path}.${name}` : name);
      }
    }
  }
  return names;
}

function sameValues(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}

/**
 * Writes a model, or any function of tensors, as an ONNX model: it runs the
 * forward pass once with the engine's tracer and emits one ONNX node (or a
 * few, where ONNX needs casts) per primitive op, with the parameters as
 * initializers under their state-dict names. A dimension given by name is
 * dynamic: the function is traced at two sizes, and every shape that
 * follows the dimension is computed at run time. An op with no ONNX form is
 * refused with its name and the module it ran in, never written half.
 *
 * @example
 * const model = buildModel({ input: [784], layers: [{ type: 'dense', units: 10 }] });
 * const bytes = toOnnx(model, { inputShape: ['batch', 784] });
 * await writeFile('model.onnx', bytes); // runs in ONNX Runtime
 */
export function toOnnx(model: Exportable, options: ToOnnxOptions = {}): Uint8Array {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!supportedOpsets.includes(opset)) {
    throw new OnnxExportError(
      `toOnnx: opset ${opset} is not supported; choose one of ${supportedOpsets.join(', ')}`,
    );
  }
  const fromSpec =
    typeof model !== 'function' && model.spec ? [['batch', ...model.spec.input]] : undefined;
  const shapes =
    options.inputShapes ?? (options.inputShape ? [options.inputShape] : undefined) ?? fromSpec;
  if (!shapes || shapes.length === 0) {
    throw new OnnxExportError(
      'toOnnx: give the input shape (inputShape, or inputShapes for several inputs)',
    );
  }
  const several = shapes.length > 1;
  const inputNames = options.inputNames ?? shapes.map((_, i) => (several ? `input_${i}` : 'input'));
  const dtypes = options.inputDtypes ?? shapes.map(() => 'float32' as const);
  if (inputNames.length !== shapes.length || dtypes.length !== shapes.length) {
    throw new OnnxExportError(
      `toOnnx: ${shapes.length} input shapes but ${inputNames.length} input names and ${dtypes.length} dtypes`,
    );
  }

  // Each named dimension gets a size per trace; the pairs differ, so a size seen in
  // both traces is matched to its dimension by the pair.
  const symbols: SymbolInfo[] = [];
  shapes.forEach((shape, input) => {
    shape.forEach((d, axis) => {
      if (typeof d === 'number') {
        if (!Number.isInteger(d) || d < 0)
          throw new OnnxExportError(
            `toOnnx: inputShapes[${input}][${axis}] is ${d}; a size is a non-negative integer or a name`,
          );
        return;
      }
      const name = d ?? `${inputNames[input]}_dim${axis}`;
      const known = symbols.find((s) => s.name === name);
      const k = known ? symbols.indexOf(known) : symbols.length;
      symbols.push({ name, input, axis, a: 2 + k, b: 5 + 3 * k });
    });
  });
  const sizesOf = (which: 'a' | 'b') =>
    shapes.map((shape, input) =>
      shape.map((d, axis) =>
        typeof d === 'number'
          ? d
          : symbols.find((s) => s.input === input && s.axis === axis)![which],
      ),
    );
  const inputsOf = (which: 'a' | 'b') =>
    sizesOf(which).map((s, i) => zeros(s, { dtype: dtypes[i]! }));

  const wasTraining = typeof model !== 'function' ? model.training : undefined;
  if (wasTraining && typeof model !== 'function') model.train?.(false);
  let first: Trace;
  let second: Trace | undefined;
  try {
    first = trace(model, inputsOf('a'));
    second = symbols.length > 0 ? trace(model, inputsOf('b')) : undefined;
  } finally {
    if (wasTraining && typeof model !== 'function') model.train?.(true);
  }
  const whereOf = (i: number) => {
    const at = first.where[i];
    return at ? `in ${at}` : 'at the top level';
  };
  if (second) {
    const differ = second.steps.findIndex((s, i) => s.op !== first.steps[i]?.op);
    if (differ >= 0 || second.steps.length !== first.steps.length) {
      const i = differ >= 0 ? differ : Math.min(first.steps.length, second.steps.length);
      throw new OnnxExportError(
        `toOnnx: the forward pass runs different ops when a dynamic dimension changes (op #${i}: ${first.steps[i]?.op ?? 'none'}, then ${second.steps[i]?.op ?? 'none'}, ${whereOf(i)}); give that dimension a fixed size`,
      );
    }
  }

  const outputNames =
    options.outputNames ??
    first.outputs.map((_, i) => (first.outputs.length > 1 ? `output_${i}` : 'output'));
  if (outputNames.length !== first.outputs.length) {
    throw new OnnxExportError(
      `toOnnx: ${first.outputs.length} outputs but ${outputNames.length} output names`,
    );
  }
  const g = new GraphBuilder(opset);
  for (const name of [...inputNames, ...outputNames]) {
    try {
      g.reserve(name);
    } catch {
      throw new OnnxExportError(
        `toOnnx: the input and output names must differ; ${name} is given twice`,
      );
    }
  }
  const values = new Map<Tensor, string>();
  const byBuffer = new Map<unknown, Tensor[]>();
  const remember = (t: Tensor, name: string) => {
    values.set(t, name);
    const list = byBuffer.get(t.data) ?? [];
    list.push(t);
    byBuffer.set(t.data, list);
  };
  first.inputs.forEach((t, i) => {
    const dims = shapes[i]!.map((d, axis) =>
      typeof d === 'number' ? d : symbols.find((s) => s.input === i && s.axis === axis)!.name,
    );
    g.input(inputNames[i]!, t.dtype, dims);
    remember(t, inputNames[i]!);
  });
  const names = tensorNames(model);

  const symbolShapes = new Map<string, string>();
  const resolve = (a: readonly number[], b: readonly number[] | undefined): ResolvedDim[] =>
    a.map((size, d) => {
      if (!b || b[d] === size) return { kind: 'fixed', size };
      const s = symbols.find((x) => x.a === size && x.b === b[d]);
      return s ? { kind: 'symbol', symbol: s.name } : { kind: 'varies' };
    });

  /** The value a tensor that no recorded op produced stands for: an alias of a known value, or a constant. */
  const leaf = (t: Tensor, other: Tensor | undefined, i: number): string => {
    const known = values.get(t);
    if (known) return known;
    // detach() shares its source's storage without running an op: read the source.
    const source = byBuffer.get(t.data)?.find((s) => s.shape.join() === t.shape.join());
    if (source) return values.get(source)!;
    if (other && other !== t && !sameValues(t, other)) {
      throw new OnnxExportError(
        `toOnnx: a constant of shape ${fmt(t.shape)} read by op ${first.steps[i]!.op} (${whereOf(i)}) changes with the dynamic dimensions (then ${fmt(other.shape)}); compute it from the inputs with tensor ops, or give the dimension a fixed size`,
      );
    }
    const name = g.initializer(names.get(t) ?? 'const', t);
    remember(t, name);
    return name;
  };

  first.steps.forEach((step, i) => {
    const other = second?.steps[i];
    const inputs = step.inputs.map((t, j) => leaf(t, other?.inputs[j], i));
    const emit = emitters[step.op];
    const fail = (why: string): never => {
      throw new OnnxExportError(
        `toOnnx: cannot export op ${step.op} #${i} (${whereOf(i)}; inputs ${step.inputs.map((t) => fmt(t.shape)).join(', ') || 'none'}, output ${fmt(step.out.shape)}): ${why}`,
      );
    };
    if (!emit) {
      fail(
        refusals[step.op] ??
          `it has no ONNX mapping; ops with one: ${Object.keys(emitters).join(', ')}`,
      );
    }
    const ctx: EmitContext = {
      g,
      step,
      other,
      inputs,
      name: step.op,
      resolve,
      fail,
      shape(dims) {
        if (dims.every((d) => d.kind === 'fixed')) {
          return g.int64s(
            dims.map((d) => (d.kind === 'fixed' ? d.size : 0)),
            'shape',
          );
        }
        const pieces: string[] = [];
        let run: number[] = [];
        const flush = () => {
          if (run.length > 0) pieces.push(g.int64s(run, 'shape'));
          run = [];
        };
        for (const d of dims) {
          if (d.kind === 'fixed') run.push(d.size);
          else if (d.kind === 'varies')
            fail(
              'one of its sizes changes with the dynamic dimensions, but not as any one of them',
            );
          else {
            flush();
            let size = symbolShapes.get(d.symbol);
            if (!size) {
              const s = symbols.find((x) => x.name === d.symbol)!;
              const attrs = { start: { int: s.axis }, end: { int: s.axis + 1 } };
              size = g.node('Shape', [inputNames[s.input]!], attrs, `${d.symbol}_size`);
              symbolShapes.set(d.symbol, size);
            }
            pieces.push(size);
          }
        }
        flush();
        return pieces.length === 1
          ? pieces[0]!
          : g.node('Concat', pieces, { axis: { int: 0 } }, 'shape');
      },
    };
    remember(step.out, emit!(ctx));
  });

  first.outputs.forEach((t, i) => {
    const value = leaf(t, second?.outputs[i], first.steps.length - 1);
    // The graph's output names are the caller's: the last op writes under that name.
    const name = g.node('Identity', [value], {}, outputNames[i]!, true);
    const dims = resolve(t.shape, second?.outputs[i]?.shape).map((d) =>
      d.kind === 'fixed' ? d.size : d.kind === 'symbol' ? d.symbol : null,
    );
    g.output(name, t.dtype, dims);
  });
  return g.serialize(options.graphName ?? 'neurite', VERSION);
}
