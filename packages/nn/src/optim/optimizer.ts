import {
  assignInPlace,
  type Compiled,
  compile,
  isTracing,
  noGrad,
  Tensor,
  zerosLike,
} from '@neurite/tensor';
import { OptimizerError, StateDictError } from '../errors.js';

/** Hyperparameters as plain values: what a state dict stores besides tensors. */
export type Hyperparameters = Record<string, number | boolean>;

/**
 * Everything an optimiser needs to resume exactly: its type, its
 * hyperparameters (the learning rate included) and copies of its buffers
 * (`params.3.momentum`, `params.3.m`, `beta1Power`, …).
 */
export interface OptimizerState {
  type: string;
  hyper: Hyperparameters;
  tensors: Record<string, Tensor>;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * Base of the optimisers. Parameters are updated in place with
 * `assignInPlace`, from values computed with tensor ops, and every value
 * that changes between steps (buffers, the learning rate, step counters)
 * lives in a tensor, so a traced training step replays exactly. Per-parameter
 * buffers (moments, momentum) live in the kernels' memory, as layers'
 * parameters and a compiled step's gradients do, so the fused update reads
 * and writes every one of them in place.
 */
export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** The learning rate as a float32 scalar tensor; `lr` reads and writes it. */
  readonly lrTensor: Tensor;
  /** The optimiser's name in messages and state dicts: `SGD`, `Adam`, `AdamW`. */
  readonly type: string;

  protected constructor(type: string, params: Iterable<Tensor>, lr: number) {
    const list = [...params];
    if (list.length === 0) throw new OptimizerError(`${type}: got an empty parameter list`);
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor))
        throw new OptimizerError(`${type}: parameter ${i} is not a Tensor`);
      if (!p.requiresGrad || p.node !== null || p.dtype === 'int32') {
        throw new OptimizerError(
          `${type}: parameter ${i} ${fmt(p.shape)} must be a float leaf tensor that requires a gradient`,
        );
      }
      if (seen.has(p)) throw new OptimizerError(`${type}: parameter ${i} appears twice`);
      seen.add(p);
    });
    this.type = type;
    this.params = list;
    checkLr(type, lr);
    this.lrTensor = Tensor.scalar(lr, 'float32');
  }

  /** The learning rate (as stored: a float32 value). */
  get lr(): number {
    return this.lrTensor.data[0]!;
  }

  /** Sets the learning rate by writing into `lrTensor`, which a traced step reads. */
  set lr(value: number) {
    checkLr(this.type, value);
    this.lrTensor.data[0] = value;
  }

  /**
   * Whether `step()` first checks that every gradient is finite and, if one
   * is not, throws an `OptimizerError` naming the parameter, leaving every
   * parameter as it was (a NaN would otherwise spread through the weights
   * silently). Checked in eager steps; a compiled step cannot read values.
   * Default true.
   */
  checkFinite = true;

  private refuseNonFinite(grads: readonly (Tensor | null)[]): void {
    grads.forEach((g, i) => {
      if (!g) return;
      const data = g.data;
      let probe = 0;
      for (let j = 0; j < data.length; j++) probe += data[j]! * 0;
      if (probe === 0) return; // x·0 is 0 for every finite x, NaN for NaN and ±∞
      const at = Array.prototype.findIndex.call(data, (v: number) => !Number.isFinite(v));
      throw new OptimizerError(
        `${this.type}.step: the gradient of parameter ${i} ${fmt(g.shape)} holds ${data[at]} at index ${at}; ` +
          'no parameter was updated (set checkFinite = false to skip this check)',
      );
    });
  }

  private fused: Compiled<(...grads: Tensor[]) => undefined> | null = null;
  private fusedFor = '';

  /**
   * Updates every parameter that has a gradient, in place. When every
   * parameter has one, the update runs as a compiled plan: one fused loop per
   * parameter instead of a dozen passes, with the same numbers. It is traced
   * again whenever a hyperparameter changes.
   */
  step(): void {
    const grads = this.params.map((p) => p.grad);
    // Values cannot be read while a step is traced; there, fit's check of the loss stands guard.
    if (this.checkFinite && !isTracing()) this.refuseNonFinite(grads);
    if (!grads.every((g): g is Tensor => g !== null)) {
      noGrad(() => this.update(grads));
      return;
    }
    const key = JSON.stringify(this.hyperparameters());
    if (!this.fused || key !== this.fusedFor) {
      this.fused = compile((...gs: Tensor[]) => {
        noGrad(() => this.update(gs));
        return undefined;
      });
      this.fusedFor = key;
    }
    this.fused(...grads);
  }

  /**
   * The update, in tensor ops, for the given gradients (null: leave that
   * parameter alone). It runs without recording a graph and writes with
   * `assignInPlace`; it must not read tensor values into numbers.
   */
  protected abstract update(grads: readonly (Tensor | null)[]): void;

  /**
   * A zero buffer of `p`'s shape and dtype in the kernels' memory
   * (`pinMemory`), where the fused update works on it in place.
   */
  protected zerosFor(p: Tensor): Tensor {
    return zerosLike(p).pinMemory();
  }

  /** Forgets every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** The hyperparameters, lr included. */
  protected abstract hyperparameters(): Hyperparameters;
  /** Restores hyperparameters taken by `hyperparameters()` (lr is set by the caller). */
  protected abstract setHyperparameters(hyper: Hyperparameters): void;
  /** The live buffers by name. */
  protected abstract buffers(): Record<string, Tensor>;

  /**
   * A snapshot of the optimiser's state: copies, so further steps do not
   * change it. Loading it into an optimiser over the same parameters
   * continues training bit for bit.
   *
   * @example
   * const saved = opt.stateDict();
   * const resumed = new Adam(model.parameters());
   * resumed.loadStateDict(saved);
   */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.buffers())) {
      tensors[name] = new Tensor(t.data.slice(), t.shape, t.dtype);
    }
    return { type: this.type, hyper: { ...this.hyperparameters(), lr: this.lr }, tensors };
  }

  /**
   * Restores a state taken by `stateDict()`, copying buffers in place. The
   * state must come from the same kind of optimiser over parameters of the
   * same shapes; otherwise nothing changes and the error names every
   * mismatched entry with both shapes.
   */
  loadStateDict(state: OptimizerState): void {
    if (state.type !== this.type) {
      throw new StateDictError(
        `${this.type}.loadStateDict: the state is of a ${state.type} optimiser`,
      );
    }
    const own = this.buffers();
    const problems: string[] = [];
    for (const [name, t] of Object.entries(own)) {
      const v = state.tensors[name];
      if (!v) problems.push(`'${name}' is missing (the optimiser's is ${fmt(t.shape)})`);
      else if (v.size !== t.size || v.shape.some((d, i) => d !== t.shape[i]) || v.ndim !== t.ndim) {
        problems.push(
          `'${name}' has shape ${fmt(v.shape)} in the state but ${fmt(t.shape)} in the optimiser`,
        );
      }
    }
    for (const name of Object.keys(state.tensors)) {
      if (!(name in own)) problems.push(`'${name}' is not a buffer of this optimiser`);
    }
    const lr = state.hyper.lr;
    if (typeof lr !== 'number') problems.push(`'lr' is missing from the hyperparameters`);
    else if (!(Number.isFinite(lr) && lr >= 0)) {
      problems.push(`'lr' must be a finite non-negative number, got ${lr}`);
    }
    if (problems.length > 0) {
      throw new StateDictError(`${this.type}.loadStateDict:\n  ${problems.join('\n  ')}`);
    }
    // Subclasses check hyperparameters as their constructors do while setting
    // them; a refused set is undone, so a refused state changes nothing.
    const previous = this.hyperparameters();
    try {
      this.setHyperparameters(state.hyper);
    } catch (e) {
      this.setHyperparameters(previous);
      if (e instanceof StateDictError) throw e;
      throw new StateDictError(`${this.type}.loadStateDict: ${(e as Error).message}`);
    }
    for (const [name, t] of Object.entries(own)) assignInPlace(t, state.tensors[name]!);
    this.lr = lr as number;
  }
}

function checkLr(type: string, lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0))
    throw new OptimizerError(`${type}: lr must be a finite non-negative number, got ${lr}`);
}

/** Throws unless `value` is finite and within [lo, hi) (or [lo, hi] when `closed`). */
export function checkRange(
  type: string,
  name: string,
  value: number,
  lo: number,
  hi: number,
  closed = false,
): void {
  const ok = Number.isFinite(value) && value >= lo && (closed ? value <= hi : value < hi);
  if (!ok) {
    const range = `[${lo}, ${hi === Number.POSITIVE_INFINITY ? '∞' : hi}${closed ? ']' : ')'}`;
    throw new OptimizerError(`${type}: ${name} must be in ${range}, got ${value}`);
  }
}

/** The hyperparameter `name` of a state, checked to be a number. */
export function numberIn(hyper: Hyperparameters, name: string, type: string): number {
  const v = hyper[name];
  if (typeof v !== 'number')
    throw new StateDictError(`${type}.loadStateDict: hyperparameter '${name}' is missing`);
  return v;
}
