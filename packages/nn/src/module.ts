import { assignInPlace, Tensor } from '@neurite/tensor';
import { StateDictError } from './errors.js';

/** Parameter and buffer values by dotted name, e.g. `0.weight`, `1.running_mean`. */
export type StateDict = Record<string, Tensor>;

/** What `loadStateDict` skipped when not strict. */
export interface LoadStateDictResult {
  /** Parameters and buffers of the module the dict had no entry for. */
  missing: string[];
  /** Entries of the dict that are no parameter or buffer of the module. */
  unexpected: string[];
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Base of every layer and model: a tree of named parameters and buffers.
 *
 * Parameters and children are discovered by walking the module's own
 * enumerable properties in declaration order: a `Tensor` with
 * `requiresGrad` is a parameter, a `Module` a child, and an array of either
 * contributes `name.0`, `name.1`, … So a subclass only assigns fields.
 *
 * Buffers are state that is saved and loaded but never trained (BatchNorm's
 * running statistics): a subclass declares each with `registerBuffer`, under
 * the name its state dict uses. Buffers are only ever changed in place
 * (`assignInPlace`), so a compiled step that updates them replays.
 *
 * `forward` may take several inputs; a layer declares the ones it takes.
 *
 * @example
 * class Affine extends Module {
 *   weight = randn([3, 2], { rng: 1 }).requireGrad();
 *   steps = this.registerBuffer('steps', zeros([], { dtype: 'int32' }));
 *   forward(x: Tensor) { return x.matmul(this.weight, { transB: true }); }
 * }
 * Object.keys(new Affine().stateDict()); // ['weight', 'steps']
 */
export abstract class Module {
  /** Training mode (dropout active, batch statistics) or evaluation mode; set with `train()` / `eval()`. */
  training = true;

  /** This module's own buffers by state-dict name, in registration order. */
  readonly #buffers = new Map<string, Tensor>();

  /** Computes the module's output for a batch (or several inputs, for a module that takes them). */
  abstract forward(...inputs: Tensor[]): Tensor;

  /**
   * Declares `tensor` as a buffer of this module named `name` (PyTorch's
   * `register_buffer`): saved in `stateDict()` and checkpoints, loaded by
   * `loadStateDict()`, never a parameter. Returns the tensor, so it can be
   * kept in a field.
   *
   * @example
   * readonly runningMean = this.registerBuffer('running_mean', zeros([channels]));
   */
  protected registerBuffer(name: string, tensor: Tensor): Tensor {
    if (!name || name.includes('.'))
      throw new RangeError(`registerBuffer: name must be non-empty without '.', got '${name}'`);
    if (this.#buffers.has(name))
      throw new RangeError(`registerBuffer: '${name}' is already a buffer of ${this.toString()}`);
    if (!(tensor instanceof Tensor))
      throw new TypeError(`registerBuffer: '${name}' must be a Tensor`);
    if (tensor.requiresGrad)
      throw new RangeError(
        `registerBuffer: '${name}' requires a gradient; a trainable tensor is a parameter, not a buffer`,
      );
    this.#buffers.set(name, tensor);
    return tensor;
  }

  /** Direct children, by property name (array elements as `name.i`). */
  *namedChildren(): Generator<[string, Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item instanceof Module) yield [`${key}.${i}`, item];
        }
      }
    }
  }

  /** This module (named `prefix`, '' at the root) and every descendant, parents first. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    const seen = new Set<Module>();
    function* visit(name: string, m: Module): Generator<[string, Module]> {
      if (seen.has(m)) return;
      seen.add(m);
      yield [name, m];
      for (const [key, child] of m.namedChildren()) {
        yield* visit(name ? `${name}.${key}` : key, child);
      }
    }
    yield* visit(prefix, this);
  }

  /** This module's own parameters (not its children's), by field name. */
  private *ownParameters(): Generator<[string, Tensor]> {
    for (const [key, value] of Object.entries(this)) {
      const items: [string, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [`${key}.${i}`, v])
        : [[key, value]];
      for (const [name, item] of items) {
        if (item instanceof Tensor && item.requiresGrad) yield [name, item];
      }
    }
  }

  /**
   * Every parameter with its dotted path, in declaration order; a tensor
   * shared by two modules is listed once.
   *
   * @example
   * for (const [name, p] of model.namedParameters()) console.log(name, p.shape);
   * // 0.weight [16, 784] …
   */
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    yield* this.namedState(prefix, true, false);
  }

  /** The parameters, in the order of `namedParameters()`. */
  parameters(): Tensor[] {
    return Array.from(this.namedParameters(), ([, p]) => p);
  }

  /**
   * Every buffer with its dotted path (`1.running_mean`), parents first; a
   * buffer shared by two modules is listed once.
   *
   * @example
   * [...new BatchNorm1d(4).namedBuffers()].map(([n]) => n);
   * // ['running_mean', 'running_var', 'num_batches_tracked']
   */
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    yield* this.namedState(prefix, false, true);
  }

  /** The buffers, in the order of `namedBuffers()`. */
  buffers(): Tensor[] {
    return Array.from(this.namedBuffers(), ([, b]) => b);
  }

  /** Parameters and/or buffers module by module: each module's parameters, then its buffers (PyTorch's order). */
  private *namedState(
    prefix: string,
    params: boolean,
    buffers: boolean,
  ): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      const own: Iterable<[string, Tensor]>[] = [];
      if (params) own.push(m.ownParameters());
      if (buffers) own.push(m.#buffers.entries());
      for (const entries of own) {
        for (const [name, t] of entries) {
          if (seen.has(t)) continue;
          seen.add(t);
          yield [path ? `${path}.${name}` : name, t];
        }
      }
    }
  }

  /** Number of trainable scalars, e.g. 13,002 for the 784-16-16-10 network. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /**
   * A snapshot of every parameter's and buffer's values by name, in
   * PyTorch's names and order (`0.weight`, `0.bias`, `1.running_mean`, …):
   * copies, so later training does not change it.
   *
   * @example
   * const best = model.stateDict();
   * // … train further …
   * model.loadStateDict(best);
   */
  stateDict(): StateDict {
    const dict: StateDict = {};
    for (const [name, t] of this.namedState('', true, true)) {
      dict[name] = new Tensor(t.data.slice(), t.shape, t.dtype);
    }
    return dict;
  }

  /**
   * Copies values from `dict` into the parameters and buffers, in place
   * (optimisers and compiled steps keep their references). An entry of the
   * wrong shape is always refused; with `strict` (the default) so are
   * missing and extra entries. Everything is checked first: nothing is
   * written unless every entry fits, and the error lists every problem with
   * its name and both shapes.
   *
   * @example
   * model.loadStateDict(restored, { strict: true });
   */
  loadStateDict(
    dict: StateDict,
    { strict = true }: { strict?: boolean } = {},
  ): LoadStateDictResult {
    const { problems, missing, unexpected, writes } = this.checkStateDict(dict, strict);
    if (problems.length > 0) {
      throw new StateDictError(
        `loadStateDict: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`,
      );
    }
    for (const [p, value] of writes) assignInPlace(p, value);
    return { missing, unexpected };
  }

  /**
   * What `loadStateDict(dict, { strict })` would do, without doing it: every
   * problem (one line each, naming the entry and both shapes), the skipped
   * names, and the writes it would make.
   *
   * @example
   * const { problems } = model.checkStateDict(dict);
   * if (problems.length === 0) model.loadStateDict(dict);
   */
  checkStateDict(
    dict: StateDict,
    strict = true,
  ): LoadStateDictResult & { problems: string[]; writes: [Tensor, Tensor][] } {
    const own = new Map(this.namedState('', true, true));
    const problems: string[] = [];
    const missing: string[] = [];
    const unexpected: string[] = [];
    const writes: [Tensor, Tensor][] = [];
    for (const [name, p] of own) {
      const value = dict[name];
      if (!value) {
        missing.push(name);
        if (strict) problems.push(`'${name}' is missing (the model's is ${fmt(p.shape)})`);
      } else if (!(value instanceof Tensor)) {
        problems.push(`'${name}' is not a Tensor`);
      } else if (
        value.shape.length !== p.shape.length ||
        value.shape.some((d, i) => d !== p.shape[i])
      ) {
        problems.push(
          `'${name}' has shape ${fmt(value.shape)} in the state dict but ${fmt(p.shape)} in the model`,
        );
      } else writes.push([p, value]);
    }
    for (const [name, value] of Object.entries(dict)) {
      if (own.has(name)) continue;
      unexpected.push(name);
      if (strict)
        problems.push(
          `'${name}' ${value instanceof Tensor ? `${fmt(value.shape)} ` : ''}is not a parameter or buffer of this model`,
        );
    }
    return { problems, missing, unexpected, writes };
  }

  /** Switches this module and all descendants to training (`on`) or evaluation mode. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Evaluation mode: dropout passes values through unchanged, batch norm uses its running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Forgets every parameter's accumulated gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** A one-line description, e.g. `Linear(784 → 16)`. */
  toString(): string {
    return this.constructor.name;
  }
}
