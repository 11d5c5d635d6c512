import { randn, type Tensor, tensor, zeros } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Dense,
  Dropout,
  Linear,
  Module,
  ReLU,
  Sequential,
  StateDictError,
  Tanh,
} from '../src/index.js';

class TwoBranch extends Module {
  scale = tensor([2], { requiresGrad: true });
  constant = tensor([5]); // no gradient: not a parameter
  branches = [new Linear(3, 2, { rng: 1 }), new Linear(3, 2, { rng: 2, bias: false })];
  head = new Sequential(new Tanh(), new Linear(2, 1, { rng: 3 }));
  forward(x: Tensor): Tensor {
    const [a, b] = this.branches;
    return this.head.forward(a!.forward(x).add(b!.forward(x))).mul(this.scale);
  }
}

describe('Module parameter tree', () => {
  it('names parameters by property path, arrays by index, in declaration order', () => {
    const m = new TwoBranch();
    expect([...m.namedParameters()].map(([n, p]) => [n, p.shape])).toEqual([
      ['scale', [1]],
      ['branches.0.weight', [2, 3]],
      ['branches.0.bias', [2]],
      ['branches.1.weight', [2, 3]],
      ['head.1.weight', [1, 2]],
      ['head.1.bias', [1]],
    ]);
    expect(m.parameters()).toHaveLength(6);
    expect(m.parameterCount()).toBe(1 + 6 + 2 + 6 + 2 + 1);
    expect([...m.namedModules()].map(([n]) => n)).toEqual([
      '',
      'branches.0',
      'branches.1',
      'head',
      'head.0',
      'head.1',
    ]);
  });

  it('lists a shared parameter once', () => {
    const shared = new Linear(2, 2, { rng: 1 });
    const m = new Sequential(shared, new ReLU(), shared);
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias']);
  });

  it('stateDict is a snapshot that later updates do not change', () => {
    const m = new Linear(2, 2, { rng: 4 });
    const dict = m.stateDict();
    const before = Array.from(dict.weight!.data);
    m.weight.data[0] = 123;
    expect(Array.from(dict.weight!.data)).toEqual(before);
    expect(dict.weight!.requiresGrad).toBe(false);
  });

  it('loadStateDict copies in place, keeping the parameter objects', () => {
    const a = new TwoBranch();
    const b = new TwoBranch();
    for (const p of b.parameters()) p.data.fill(0.5);
    const weight = a.branches[0]!.weight;
    const result = a.loadStateDict(b.stateDict());
    expect(result).toEqual({ missing: [], unexpected: [] });
    expect(a.branches[0]!.weight).toBe(weight);
    for (const p of a.parameters()) expect(Array.from(p.data).every((v) => v === 0.5)).toBe(true);
  });

  it('refuses missing, extra and mis-shaped entries, naming each with its shapes, and writes nothing', () => {
    const m = new Sequential(new Linear(4, 3, { rng: 1 }), new Linear(3, 2, { rng: 2 }));
    const before = m.stateDict();
    const dict = m.stateDict();
    delete dict['1.bias'];
    dict['0.weight'] = zeros([4, 3]);
    dict['0.bias'] = zeros([3]);
    dict['2.weight'] = zeros([7, 7]);
    let error: unknown;
    try {
      m.loadStateDict(dict);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    const message = (error as Error).message;
    expect(message).toContain("'1.bias' is missing (the model's is [2])");
    expect(message).toContain(
      "'0.weight' has shape [4, 3] in the state dict but [3, 4] in the model",
    );
    expect(message).toContain("'2.weight' [7, 7] is not a parameter or buffer of this model");
    // Nothing was written, not even the entries that fit.
    expect(Array.from(m.stateDict()['0.bias']!.data)).toEqual(Array.from(before['0.bias']!.data));
  });

  it('non-strict loading skips missing and extra entries but still refuses a wrong shape', () => {
    const m = new Sequential(new Linear(4, 3, { rng: 1 }), new Linear(3, 2, { rng: 2 }));
    const partial = { '0.weight': zeros([3, 4]), extra: zeros([1]) };
    const result = m.loadStateDict(partial, { strict: false });
    expect(result.missing).toEqual(['0.bias', '1.weight', '1.bias']);
    expect(result.unexpected).toEqual(['extra']);
    expect(Array.from((m.layers[0] as Linear).weight.data).every((v) => v === 0)).toBe(true);
    expect(() => m.loadStateDict({ '0.weight': zeros([4, 3]) }, { strict: false })).toThrow(
      /'0.weight' has shape \[4, 3\] in the state dict but \[3, 4\] in the model/,
    );
  });

  it('train() and eval() switch every descendant', () => {
    const drop = new Dropout(0.5, { rng: 1 });
    const m = new Sequential(new Dense(2, 2, { rng: 1 }), new Sequential(drop));
    m.eval();
    expect([...m.namedModules()].every(([, c]) => !c.training)).toBe(true);
    m.train();
    expect(drop.training).toBe(true);
    expect(m.eval()).toBe(m);
  });

  it('zeroGrad clears accumulated gradients', () => {
    const m = new Linear(3, 2, { rng: 1 });
    m.forward(randn([4, 3], { rng: 2 }))
      .sum()
      .backward();
    expect(m.weight.grad).not.toBeNull();
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});
