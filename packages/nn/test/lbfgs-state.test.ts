import { linspace, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  checkpointBytes,
  Dense,
  LBFGS,
  mse,
  restoreCheckpoint,
  Sequential,
  StateDictError,
} from '../src/index.js';

/** A small tanh network fitted to sin x: enough curvature for the history to fill up. */
function setup(seed: number, dtype: 'float32' | 'float64' = 'float64') {
  const x = linspace(-3, 3, 24, { dtype }).reshape([24, 1]);
  const y = x.sin();
  const model = new Sequential(
    new Dense(1, 8, { activation: 'tanh', rng: seed, dtype }),
    new Dense(8, 1, { rng: seed + 1, dtype }),
  );
  const closure = () => {
    const loss = mse(model.forward(x) as Tensor, y);
    loss.backward();
    return loss;
  };
  return { model, closure };
}

const bits = (m: Sequential) =>
  JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.data)));
/** A state as plain values (tensors compared by dtype, shape and bits, not identity). */
const plain = (s: { type: string; hyper: object; tensors: Record<string, Tensor> }) => ({
  type: s.type,
  hyper: s.hyper,
  tensors: Object.fromEntries(
    Object.entries(s.tensors).map(([k, t]) => [k, [t.dtype, t.shape, Array.from(t.data)]]),
  ),
});
const options = { maxIter: 4, historySize: 3, lineSearch: 'strongWolfe' } as const;

describe('LBFGS state dict', () => {
  it("holds PyTorch's state under its names (camel case) and the options", () => {
    const { model, closure } = setup(1);
    const opt = new LBFGS(model.parameters(), options);
    opt.step(closure);
    const state = opt.stateDict();
    expect(Object.keys(state.tensors).sort()).toEqual(
      ['d', 'oldDirs', 'oldStps', 'prevFlatGrad', 'ro'].sort(),
    );
    for (const name of ['funcEvals', 'nIter', 't', 'hDiag', 'prevLoss', 'lr', 'maxIter'])
      expect(typeof state.hyper[name]).toBe('number');
    expect(state.hyper.nIter).toBe(4);
    // 25 parameters; the history is capped at historySize pairs.
    expect(state.tensors.d!.shape).toEqual([25]);
    const k = state.tensors.ro!.shape[0]!;
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThanOrEqual(3);
    expect(state.tensors.oldDirs!.shape).toEqual([k, 25]);
    expect(state.tensors.oldStps!.dtype).toBe('float64');
  });

  for (const dtype of ['float64', 'float32'] as const) {
    it(`resumes bit-identically from a checkpoint taken between steps (${dtype} parameters, strong Wolfe, full history)`, () => {
      const straight = setup(1, dtype);
      const straightOpt = new LBFGS(straight.model.parameters(), options);
      for (let i = 0; i < 3; i++) straightOpt.step(straight.closure);
      const bytes = checkpointBytes(straight.model, { optimizer: straightOpt });
      for (let i = 0; i < 3; i++) straightOpt.step(straight.closure);

      const resumed = setup(7, dtype); // other weights, overwritten by the checkpoint
      const resumedOpt = new LBFGS(resumed.model.parameters()); // other options, too
      restoreCheckpoint(bytes, { into: resumed.model, optimizer: resumedOpt });
      expect(resumedOpt.maxIter).toBe(4);
      expect(resumedOpt.lineSearch).toBe('strongWolfe');
      for (let i = 0; i < 3; i++) resumedOpt.step(resumed.closure);

      expect(bits(resumed.model)).toBe(bits(straight.model));
      expect(plain(resumedOpt.stateDict())).toEqual(plain(straightOpt.stateDict()));
      // And the history mattered: a fresh optimiser from the same weights goes elsewhere.
      const fresh = setup(1, dtype);
      restoreCheckpoint(bytes, { into: fresh.model });
      const freshOpt = new LBFGS(fresh.model.parameters(), options);
      for (let i = 0; i < 3; i++) freshOpt.step(fresh.closure);
      expect(bits(fresh.model)).not.toBe(bits(straight.model));
    });
  }

  it('saves and restores the state of an optimiser that has not stepped', () => {
    const { model } = setup(1);
    const opt = new LBFGS(model.parameters(), { lr: 0.5 });
    const bytes = checkpointBytes(model, { optimizer: opt });
    const other = setup(2);
    const otherOpt = new LBFGS(other.model.parameters());
    restoreCheckpoint(bytes, { into: other.model, optimizer: otherOpt });
    expect(plain(otherOpt.stateDict())).toEqual(plain(opt.stateDict()));
  });

  it('refuses a state that does not fit, naming every problem, and changes nothing', () => {
    const { model, closure } = setup(1);
    const opt = new LBFGS(model.parameters(), options);
    opt.step(closure);
    const good = opt.stateDict();
    const target = new LBFGS(setup(2).model.parameters(), { lr: 0.25 });
    const before = target.stateDict();
    const bad = {
      type: 'LBFGS',
      hyper: { ...good.hyper, nIter: -1, hDiag: Number.NaN, maxEval: 0 },
      tensors: {
        ...good.tensors,
        d: tensor([1, 2, 3], { dtype: 'float64' }),
        oldStps: good.tensors.oldStps!.reshape([-1]),
        al: tensor([0], { dtype: 'float64' }),
      },
    };
    delete (bad.hyper as Record<string, unknown>).prevLoss;
    let message = '';
    try {
      target.loadStateDict(bad);
    } catch (e) {
      expect(e).toBeInstanceOf(StateDictError);
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /^LBFGS\.loadStateDict: the state does not fit \(parameters: 25 values\)/,
    );
    for (const part of [
      "'nIter' must be an integer ≥ 0, got -1",
      "'hDiag' must be a finite number, got NaN",
      "'maxEval' must be ≥ 1, got 0",
      "'prevLoss' is missing (a number)",
      "'d' is [3], LBFGS needs [25]",
      "'oldStps' is [",
      "'al' is not a tensor of LBFGS's state",
    ])
      expect(message).toContain(part);
    expect(plain(target.stateDict())).toEqual(plain(before));

    const nan = good.tensors.ro!.data.slice();
    nan[0] = Number.POSITIVE_INFINITY;
    expect(() =>
      target.loadStateDict({
        ...good,
        tensors: { ...good.tensors, ro: tensor(nan, { dtype: 'float64' }) },
      }),
    ).toThrow("'ro' holds Infinity at index 0");
    expect(() => target.loadStateDict({ ...good, type: 'Adam' })).toThrow(
      'LBFGS.loadStateDict: the state is of a Adam optimiser',
    );
    expect(plain(target.stateDict())).toEqual(plain(before));
  });

  it('a checkpoint of an LBFGS over other parameters is refused with both sizes', () => {
    const { model, closure } = setup(1);
    const opt = new LBFGS(model.parameters(), options);
    opt.step(closure);
    const bytes = checkpointBytes(model, { optimizer: opt });
    const other = setup(1);
    const lastLayer = other.model.parameters().slice(0, 2); // 16 values, not 25
    expect(() =>
      restoreCheckpoint(bytes, { into: other.model, optimizer: new LBFGS(lastLayer) }),
    ).toThrow(CheckpointError);
    expect(() =>
      restoreCheckpoint(bytes, { into: other.model, optimizer: new LBFGS(lastLayer) }),
    ).toThrow(/parameters: 16 values[\s\S]*'d' is \[25\], LBFGS needs \[16\]/);
  });
});
