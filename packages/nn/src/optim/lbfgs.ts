import { assignInPlace, Tensor, withGradMode } from '@neurite/tensor';
import { OptimizerError, StateDictError } from '../errors.js';
import type { Hyperparameters, OptimizerState } from './optimizer.js';

/** Options of `LBFGS`, with PyTorch's names and defaults. */
export interface LBFGSOptions {
  /** Step length scale. Default 1. */
  lr?: number;
  /** Iterations per `step()`. Default 20. */
  maxIter?: number;
  /** Function evaluations per `step()`. Default maxIter · 5/4. */
  maxEval?: number;
  /** Stop when every gradient entry is at most this in magnitude. Default 1e-7. */
  toleranceGrad?: number;
  /** Stop when the loss or the step changes less than this. Default 1e-9. */
  toleranceChange?: number;
  /** Curvature pairs kept. Default 100. */
  historySize?: number;
  /** `'strongWolfe'` for a line search meeting the strong Wolfe conditions; default none (fixed steps of lr). */
  lineSearch?: 'strongWolfe' | null;
}

/** What `step` evaluates: the loss at the current parameters, after computing their gradients (`loss.backward()`). */
export type LossClosure = () => Tensor | number;

type Vec = Float64Array;

const dot = (a: Vec, b: Vec) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Vec) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/** Minimum of the cubic through (x1, f1, g1) and (x2, f2, g2), within the bounds (PyTorch's `_cubic_interpolate`). */
function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos =
      x1 <= x2
        ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

/**
 * A line search along `d` from step `t` that meets the strong Wolfe
 * conditions (sufficient decrease c1, curvature c2), as PyTorch's
 * `_strong_wolfe`: bracketing by cubic extrapolation, then zooming by cubic
 * interpolation. `evaluate(t)` gives the loss and gradient at x + t·d.
 */
function strongWolfe(
  evaluate: (t: number) => [number, Vec],
  t0: number,
  d: Vec,
  f: number,
  g: Vec,
  gtd: number,
  c1 = 1e-4,
  c2 = 0.9,
  toleranceChange = 1e-9,
  maxLs = 25,
): { f: number; g: Vec; t: number; evals: number } {
  let t = t0;
  const dNorm = maxAbs(d);
  let [fNew, gNew] = evaluate(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0;
  let fPrev = f;
  let gPrev = g;
  let gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Vec[] = [];
  let bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const previous = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = previous;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    bracket = [0, t];
    bracketF = [f, fNew];
    bracketG = [g, gNew];
  }
  let insufficientProgress = false;
  let [low, high] = bracketF[0]! <= bracketF[bracketF.length - 1]! ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < toleranceChange) break;
    t = cubicInterpolate(
      bracket[0]!,
      bracketF[0]!,
      bracketGtd[0]!,
      bracket[1]!,
      bracketF[1]!,
      bracketGtd[1]!,
    );
    const top = Math.max(bracket[0]!, bracket[1]!);
    const bottom = Math.min(bracket[0]!, bracket[1]!);
    const eps = 0.1 * (top - bottom);
    if (Math.min(top - t, t - bottom) < eps) {
      if (insufficientProgress || t >= top || t <= bottom) {
        t = Math.abs(t - top) < Math.abs(t - bottom) ? top - eps : bottom + eps;
        insufficientProgress = false;
      } else insufficientProgress = true;
    } else insufficientProgress = false;
    [fNew, gNew] = evaluate(t);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]!) {
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew;
      bracketGtd[high] = gtdNew;
      [low, high] = bracketF[0]! <= bracketF[1]! ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[high]! - bracket[low]!) >= 0) {
        bracket[high] = bracket[low]!;
        bracketF[high] = bracketF[low]!;
        bracketG[high] = bracketG[low]!;
        bracketGtd[high] = bracketGtd[low]!;
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew;
      bracketGtd[low] = gtdNew;
    }
  }
  if (bracket.length === 1) low = 0;
  return { f: bracketF[low]!, g: bracketG[low]!, t: bracket[low]!, evals };
}

function checkPositive(name: string, value: number, integer = false): void {
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value))) {
    throw new OptimizerError(
      `LBFGS: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`,
    );
  }
}

/**
 * Limited-memory BFGS as PyTorch's `LBFGS`: each `step(closure)` runs up to
 * `maxIter` quasi-Newton iterations over all parameters as one vector,
 * calling `closure` to evaluate the loss and its gradient as often as it
 * needs. With `lineSearch: 'strongWolfe'` the step length comes from a line
 * search meeting the strong Wolfe conditions; without, it is `lr` (the
 * first iteration min(1, 1/‖g‖₁)·lr). The usual finisher of a
 * physics-informed fit after Adam. Arithmetic is in float64 whatever the
 * parameters' dtype.
 *
 * `step` clears the gradients before each evaluation, so the closure only
 * computes the loss and calls `backward()`.
 *
 * @example
 * const opt = new LBFGS(model.parameters(), { lineSearch: 'strongWolfe' });
 * for (let i = 0; i < 10; i++) {
 *   opt.step(() => {
 *     const loss = mse(model.forward(x), y);
 *     loss.backward();
 *     return loss;
 *   });
 * }
 */
export class LBFGS {
  readonly type = 'LBFGS';
  readonly params: readonly Tensor[];
  lr: number;
  maxIter: number;
  maxEval: number;
  toleranceGrad: number;
  toleranceChange: number;
  historySize: number;
  lineSearch: 'strongWolfe' | null;
  /** Closure evaluations and iterations over all steps so far. */
  funcEvals = 0;
  nIter = 0;
  private d: Vec | null = null;
  private t = 0;
  private oldDirs: Vec[] = [];
  private oldSteps: Vec[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevFlatGrad: Vec | null = null;
  private prevLoss = 0;
  private readonly size: number;

  constructor(params: Iterable<Tensor>, options: LBFGSOptions = {}) {
    const list = [...params];
    if (list.length === 0) throw new OptimizerError('LBFGS: got an empty parameter list');
    list.forEach((p, i) => {
      if (!(p instanceof Tensor) || !p.requiresGrad || p.node !== null || p.dtype === 'int32') {
        throw new OptimizerError(
          `LBFGS: parameter ${i} must be a float leaf tensor that requires a gradient`,
        );
      }
    });
    this.params = list;
    this.size = list.reduce((n, p) => n + p.size, 0);
    this.lr = options.lr ?? 1;
    this.maxIter = options.maxIter ?? 20;
    this.maxEval = options.maxEval ?? Math.floor((this.maxIter * 5) / 4);
    this.toleranceGrad = options.toleranceGrad ?? 1e-7;
    this.toleranceChange = options.toleranceChange ?? 1e-9;
    this.historySize = options.historySize ?? 100;
    this.lineSearch = options.lineSearch ?? null;
    this.validate();
  }

  private validate(): void {
    checkPositive('lr', this.lr);
    checkPositive('maxIter', this.maxIter, true);
    checkPositive('maxEval', this.maxEval, true);
    checkPositive('historySize', this.historySize, true);
    if (!(this.toleranceGrad >= 0) || !(this.toleranceChange >= 0)) {
      throw new OptimizerError(
        `LBFGS: toleranceGrad and toleranceChange must be non-negative, got ${this.toleranceGrad} and ${this.toleranceChange}`,
      );
    }
    if (this.lineSearch !== null && this.lineSearch !== 'strongWolfe') {
      throw new OptimizerError(
        `LBFGS: lineSearch must be 'strongWolfe' or null, got ${String(this.lineSearch)}`,
      );
    }
  }

  /** Forgets every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  private flatGrad(): Vec {
    const out = new Float64Array(this.size);
    let at = 0;
    for (const p of this.params) {
      if (p.grad) out.set(p.grad.data, at);
      at += p.size;
    }
    return out;
  }

  private flatParams(): Vec {
    const out = new Float64Array(this.size);
    let at = 0;
    for (const p of this.params) {
      out.set(p.data, at);
      at += p.size;
    }
    return out;
  }

  private setParams(x: Vec): void {
    let at = 0;
    for (const p of this.params) {
      const values = x.subarray(at, at + p.size);
      assignInPlace(
        p,
        new Tensor(
          p.dtype === 'float32' ? Float32Array.from(values) : values.slice(),
          p.shape,
          p.dtype,
        ),
      );
      at += p.size;
    }
  }

  /** Evaluates the closure with fresh gradients: its loss and the flat gradient. */
  private evaluate(closure: LossClosure): [number, Vec] {
    this.zeroGrad();
    const value = withGradMode(true, closure);
    const loss = typeof value === 'number' ? value : value.item();
    return [loss, this.flatGrad()];
  }

  /**
   * Runs up to `maxIter` iterations, evaluating `closure` as needed, and
   * returns the loss of the first evaluation (the loss before this step).
   */
  step(closure: LossClosure): number {
    if (typeof closure !== 'function') {
      throw new OptimizerError(
        'LBFGS.step: needs a closure that computes the loss, calls backward() and returns the loss',
      );
    }
    let [loss, flatGrad] = this.evaluate(closure);
    const origLoss = loss;
    let currentEvals = 1;
    this.funcEvals += 1;
    if (maxAbs(flatGrad) <= this.toleranceGrad) return origLoss;
    let d = this.d;
    let t = this.t;
    let nIter = 0;
    while (nIter < this.maxIter) {
      nIter++;
      this.nIter++;
      if (this.nIter === 1 || !d) {
        d = flatGrad.map((v) => -v);
        this.oldDirs = [];
        this.oldSteps = [];
        this.ro = [];
        this.hDiag = 1;
      } else {
        const prev = this.prevFlatGrad!;
        const y = flatGrad.map((v, i) => v - prev[i]!);
        const s = d.map((v) => v * t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (this.oldDirs.length === this.historySize) {
            this.oldDirs.shift();
            this.oldSteps.shift();
            this.ro.shift();
          }
          this.oldDirs.push(y);
          this.oldSteps.push(s);
          this.ro.push(1 / ys);
          this.hDiag = ys / dot(y, y);
        }
        const k = this.oldDirs.length;
        const al = new Array<number>(k);
        const q = flatGrad.map((v) => -v);
        for (let i = k - 1; i >= 0; i--) {
          al[i] = dot(this.oldSteps[i]!, q) * this.ro[i]!;
          const dir = this.oldDirs[i]!;
          for (let j = 0; j < q.length; j++) q[j]! -= al[i]! * dir[j]!;
        }
        const r = q.map((v) => v * this.hDiag);
        for (let i = 0; i < k; i++) {
          const be = dot(this.oldDirs[i]!, r) * this.ro[i]!;
          const stp = this.oldSteps[i]!;
          for (let j = 0; j < r.length; j++) r[j]! += (al[i]! - be) * stp[j]!;
        }
        d = r;
      }
      this.prevFlatGrad = flatGrad.slice();
      const prevLoss = loss;
      this.prevLoss = prevLoss;
      if (this.nIter === 1) {
        let l1 = 0;
        for (const v of flatGrad) l1 += Math.abs(v);
        t = Math.min(1, 1 / l1) * this.lr;
      } else t = this.lr;
      const gtd = dot(flatGrad, d);
      if (gtd > -this.toleranceChange) break;
      let lsEvals = 0;
      let optimal = false;
      if (this.lineSearch === 'strongWolfe') {
        const x0 = this.flatParams();
        const direction = d;
        const result = strongWolfe(
          (step) => {
            this.setParams(x0.map((v, i) => v + step * direction[i]!));
            return this.evaluate(closure);
          },
          t,
          d,
          loss,
          flatGrad,
          gtd,
        );
        loss = result.f;
        flatGrad = result.g;
        t = result.t;
        lsEvals = result.evals;
        this.setParams(x0.map((v, i) => v + t * direction[i]!));
        optimal = maxAbs(flatGrad) <= this.toleranceGrad;
      } else {
        const x = this.flatParams();
        this.setParams(x.map((v, i) => v + t * d![i]!));
        if (nIter !== this.maxIter) {
          [loss, flatGrad] = this.evaluate(closure);
          optimal = maxAbs(flatGrad) <= this.toleranceGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      this.funcEvals += lsEvals;
      if (nIter === this.maxIter || currentEvals >= this.maxEval || optimal) break;
      if (maxAbs(d) * Math.abs(t) <= this.toleranceChange) break;
      if (Math.abs(loss - prevLoss) < this.toleranceChange) break;
    }
    this.d = d;
    this.t = t;
    return origLoss;
  }

  /**
   * The optimiser's state, to resume exactly (mid-run too): the options, and
   * what PyTorch's LBFGS keeps in its `state`, under the same names in camel
   * case: the counters `funcEvals` and `nIter`, the last step length `t`, the
   * scaling `hDiag` and `prevLoss` (hyperparameters), and as float64 tensors
   * the last direction `d`, the last gradient `prevFlatGrad` (both absent
   * before the first iteration) and the curvature history `oldDirs`,
   * `oldStps` ([pairs, parameters]) and `ro` ([pairs]).
   *
   * @example
   * const resumed = new LBFGS(model.parameters());
   * resumed.loadStateDict(opt.stateDict());
   */
  stateDict(): OptimizerState {
    const hyper: Hyperparameters = {
      lr: this.lr,
      maxIter: this.maxIter,
      maxEval: this.maxEval,
      toleranceGrad: this.toleranceGrad,
      toleranceChange: this.toleranceChange,
      historySize: this.historySize,
      strongWolfe: this.lineSearch === 'strongWolfe',
      funcEvals: this.funcEvals,
      nIter: this.nIter,
      t: this.t,
      hDiag: this.hDiag,
      prevLoss: this.prevLoss,
    };
    const tensors: Record<string, Tensor> = {};
    const vec = (v: Vec) => new Tensor(v.slice(), [v.length], 'float64');
    const stack = (vs: Vec[]) => {
      const data = new Float64Array(vs.length * this.size);
      vs.forEach((v, i) => {
        data.set(v, i * this.size);
      });
      return new Tensor(data, [vs.length, this.size], 'float64');
    };
    if (this.d) tensors.d = vec(this.d);
    if (this.prevFlatGrad) tensors.prevFlatGrad = vec(this.prevFlatGrad);
    tensors.oldDirs = stack(this.oldDirs);
    tensors.oldStps = stack(this.oldSteps);
    tensors.ro = new Tensor(Float64Array.from(this.ro), [this.ro.length], 'float64');
    return { type: this.type, hyper, tensors };
  }

  /**
   * Restores a state taken by `stateDict()` of an LBFGS over parameters of
   * the same total size, options included. The whole state is checked
   * first (every entry present, of its type and shape, finite, counters
   * whole); a refused state changes nothing, and the `StateDictError` lists
   * every problem.
   */
  loadStateDict(state: OptimizerState): void {
    const where = 'LBFGS.loadStateDict';
    if (state?.type !== this.type) {
      throw new StateDictError(`${where}: the state is of a ${String(state?.type)} optimiser`);
    }
    const n = this.size;
    const h = state.hyper ?? {};
    const tensors = state.tensors ?? {};
    const problems: string[] = [];
    const num = (name: string, rule: 'count' | 'positive' | 'nonNegative' | 'finite') => {
      const v = h[name];
      if (typeof v !== 'number') {
        problems.push(`'${name}' is missing (a number)`);
        return Number.NaN;
      }
      const ok =
        rule === 'count'
          ? Number.isInteger(v) && v >= 0
          : rule === 'positive'
            ? Number.isFinite(v) && v > 0
            : rule === 'nonNegative'
              ? Number.isFinite(v) && v >= 0
              : Number.isFinite(v);
      const says = {
        count: 'an integer ≥ 0',
        positive: 'a finite number > 0',
        nonNegative: 'a finite number ≥ 0',
        finite: 'a finite number',
      }[rule];
      if (!ok) problems.push(`'${name}' must be ${says}, got ${v}`);
      return v;
    };
    const lr = num('lr', 'positive');
    const maxIter = num('maxIter', 'count');
    const maxEval = num('maxEval', 'count');
    const toleranceGrad = num('toleranceGrad', 'nonNegative');
    const toleranceChange = num('toleranceChange', 'nonNegative');
    const historySize = num('historySize', 'count');
    for (const [name, v] of [
      ['maxIter', maxIter],
      ['maxEval', maxEval],
      ['historySize', historySize],
    ] as const) {
      if (v === 0) problems.push(`'${name}' must be ≥ 1, got 0`);
    }
    if (typeof h.strongWolfe !== 'boolean') problems.push(`'strongWolfe' is missing (a boolean)`);
    const funcEvals = num('funcEvals', 'count');
    const nIter = num('nIter', 'count');
    const t = num('t', 'finite');
    const hDiag = num('hDiag', 'finite');
    const prevLoss = num('prevLoss', 'finite');

    const known = new Set(['d', 'prevFlatGrad', 'oldDirs', 'oldStps', 'ro']);
    for (const name of Object.keys(tensors)) {
      if (!known.has(name)) problems.push(`'${name}' is not a tensor of LBFGS's state`);
    }
    const ro = tensors.ro;
    const k = ro instanceof Tensor && ro.ndim === 1 ? ro.shape[0]! : -1;
    const check = (name: string, shape: number[] | null, required: boolean) => {
      const v = tensors[name];
      const want = shape ? `[${shape.join(', ')}]` : '1-d';
      if (v === undefined) {
        if (required) problems.push(`'${name}' is missing (float64 ${want})`);
        return;
      }
      if (!(v instanceof Tensor)) {
        problems.push(`'${name}' is not a tensor`);
        return;
      }
      const ok = shape
        ? v.ndim === shape.length && v.shape.every((d, i) => d === shape[i])
        : v.ndim === 1;
      if (!ok) problems.push(`'${name}' is [${v.shape.join(', ')}], LBFGS needs ${want}`);
      else if (v.dtype === 'int32') problems.push(`'${name}' is int32, LBFGS needs float64`);
      else {
        const at = Array.prototype.findIndex.call(v.data, (x: number) => !Number.isFinite(x));
        if (at >= 0) problems.push(`'${name}' holds ${v.data[at]} at index ${at}`);
      }
    };
    check('ro', null, true);
    if (k >= 0) {
      check('oldDirs', [k, n], true);
      check('oldStps', [k, n], true);
      if (k > historySize)
        problems.push(`'ro' holds ${k} pairs, more than historySize ${historySize}`);
    }
    // The direction and the last gradient exist from the first iteration on, as a pair.
    check('d', [n], nIter > 0);
    check('prevFlatGrad', [n], nIter > 0);
    if (problems.length > 0) {
      throw new StateDictError(
        `${where}: the state does not fit (parameters: ${n} values):\n  ${problems.join('\n  ')}`,
      );
    }

    const rows = (v: Tensor) =>
      Array.from({ length: k }, (_, i) => Float64Array.from(v.data.subarray(i * n, (i + 1) * n)));
    this.lr = lr;
    this.maxIter = maxIter;
    this.maxEval = maxEval;
    this.toleranceGrad = toleranceGrad;
    this.toleranceChange = toleranceChange;
    this.historySize = historySize;
    this.lineSearch = h.strongWolfe === true ? 'strongWolfe' : null;
    this.funcEvals = funcEvals;
    this.nIter = nIter;
    this.t = t;
    this.hDiag = hDiag;
    this.prevLoss = prevLoss;
    this.d = tensors.d ? Float64Array.from(tensors.d.data) : null;
    this.prevFlatGrad = tensors.prevFlatGrad ? Float64Array.from(tensors.prevFlatGrad.data) : null;
    this.oldDirs = rows(tensors.oldDirs!);
    this.oldSteps = rows(tensors.oldStps!);
    this.ro = Array.from(ro!.data);
  }
}
