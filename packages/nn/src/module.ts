import { assignInPlace, Tensor } from '@neurite/tensor';
import { StateDictError } from './errors.js';

/** Parameter values by dotted name, e.g. `layers.0.weight`. */
export type StateDict = Record<string, Tensor>;

/** What `loadStateDict` skipped when not strict. */
export interface LoadStateDictResult {
  /** Parameters of the module the dict had no entry for. */
  missing: string[];
  /** Entries of the dict that are no parameter of the module. */
  unexpected: string[];
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Base of every layer and model: a tree of named parameters.
 *
 * Parameters and children are discovered by walking the module's own
 * enumerable properties in declaration order: a `Tensor` with
 * `requiresGrad` is a parameter, a `Module` a child, and an array of either
 * contributes `name.0`, `name.1`, … So a subclass only assigns fields.
 *
 * @example
 * class Affine extends Module {
 *   weight = randn([3, 2], { rng: 1 }).requireGrad();
 *   forward(x: Tensor) { return x.matmul(this.weight, { transB: true }); }
 * }
 * [...new Affine().namedParameters()]; // [['weight', Tensor]]
 */
export abstract class Module {
  /** Training mode (dropout active) or evaluation mode; set with `train()` / `eval()`. */
  training = true;

  /** Computes the module's output for a batch `x`. */
  abstract forward(x: Tensor): Tensor;

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

  /**
   * Every parameter with its dotted path, in declaration order; a tensor
   * shared by two modules is listed once.
   *
   * @example
   * for (const [name, p] of model.namedParameters()) console.log(name, p.shape);
   * // layers.0.weight [16, 784] …
   */
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [key, value] of Object.entries(m)) {
        const items: [string, unknown][] = Array.isArray(value)
          ? value.map((v, i) => [`${key}.${i}`, v])
          : [[key, value]];
        for (const [name, item] of items) {
          if (item instanceof Tensor && item.requiresGrad && !seen.has(item)) {
            seen.add(item);
            yield [path ? `${path}.${name}` : name, item];
          }
        }
      }
    }
  }

  /** The parameters, in the order of `namedParameters()`. */
  parameters(): Tensor[] {
    return Array.from(this.namedParameters(), ([, p]) => p);
  }

  /** Number of trainable scalars, e.g. 13,002 for the 784-16-16-10 network. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /**
   * A snapshot of every parameter's values by name: copies, so later
   * training does not change it.
   *
   * @example
   * const best = model.stateDict();
   * // … train further …
   * model.loadStateDict(best);
   */
  stateDict(): StateDict {
    const dict: StateDict = {};
    for (const [name, p] of this.namedParameters()) {
      dict[name] = new Tensor(p.data.slice(), p.shape, p.dtype);
    }
    return dict;
  }

  /**
   * Copies values from `dict` into the parameters, in place (optimisers
   * keep their references). An entry of the wrong shape is always refused;
   * with `strict` (the default) so are missing and extra entries. Nothing
   * is written unless every entry fits; the error lists every problem with
   * its name and both shapes.
   *
   * @example
   * model.loadStateDict(restored, { strict: true });
   */
  loadStateDict(
    dict: StateDict,
    { strict = true }: { strict?: boolean } = {},
  ): LoadStateDictResult {
    const own = new Map(this.namedParameters());
    const problems: string[] = [];
    const missing: string[] = [];
    const unexpected: string[] = [];
    const writes: [Tensor, Tensor][] = [];
    for (const [name, p] of own) {
      const value = dict[name];
      if (!value) {
        missing.push(name);
        if (strict) problems.push(`'${name}' is missing (the model's is ${fmt(p.shape)})`);
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
      if (strict) problems.push(`'${name}' ${fmt(value.shape)} is not a parameter of this model`);
    }
    if (problems.length > 0) {
      throw new StateDictError(
        `loadStateDict: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`,
      );
    }
    for (const [p, value] of writes) assignInPlace(p, value);
    return { missing, unexpected };
  }

  /** Switches this module and all descendants to training (`on`) or evaluation mode. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Evaluation mode: dropout passes values through unchanged. */
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
