import { type Tensor, tensor, zeros } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Linear, Module, ReLU, Sequential, StateDictError } from '../src/index.js';

class Counter extends Module {
  weight = tensor([1, 2], { requiresGrad: true });
  readonly seen = this.registerBuffer('seen', zeros([], { dtype: 'int32' }));
  readonly scale = this.registerBuffer('scale', tensor([3, 4]));
  forward(x: Tensor): Tensor {
    return x.mul(this.weight).mul(this.scale);
  }
}

/** Two inputs: forward(a, b) = a·w + b. */
class Pair extends Module {
  w = tensor([2], { requiresGrad: true });
  forward(a: Tensor, b: Tensor): Tensor {
    return a.mul(this.w).add(b);
  }
}

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('buffers', () => {
  it('are registered by name, listed apart from parameters, never trained', () => {
    const m = new Counter();
    expect([...m.namedBuffers()].map(([n, t]) => [n, t.shape])).toEqual([
      ['seen', []],
      ['scale', [2]],
    ]);
    expect(m.buffers()).toEqual([m.seen, m.scale]);
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['weight']);
    expect(m.parameterCount()).toBe(2);
  });

  it('refuse a trainable tensor, a duplicate name and a dotted name', () => {
    class Bad extends Module {
      constructor(which: number) {
        super();
        if (which === 0) this.registerBuffer('w', tensor([1], { requiresGrad: true }));
        if (which === 1) {
          this.registerBuffer('a', tensor([1]));
          this.registerBuffer('a', tensor([2]));
        }
        if (which === 2) this.registerBuffer('a.b', tensor([1]));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Bad(0)).toThrow(/requires a gradient; a trainable tensor is a parameter/);
    expect(() => new Bad(1)).toThrow(/'a' is already a buffer/);
    expect(() => new Bad(2)).toThrow(/without '\.'/);
  });

  it('stateDict uses PyTorch names and order: per module, parameters then buffers, children by index', () => {
    const net = new Sequential(new Linear(3, 4, { rng: 1 }), new BatchNorm1d(4), new ReLU());
    expect(Object.keys(net.stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
    ]);
    expect(net.stateDict()['1.num_batches_tracked']!.dtype).toBe('int32');
    expect([...net.namedBuffers()].map(([n]) => n)).toEqual([
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
    ]);
  });

  it('loadStateDict writes buffers in place and names every problem at once, changing nothing', () => {
    const a = new Counter();
    const b = new Counter();
    b.seen.data[0] = 7;
    b.scale.data.set([5, 6]);
    const scale = a.scale;
    a.loadStateDict(b.stateDict());
    expect(a.scale).toBe(scale);
    expect(Array.from(a.scale.data)).toEqual([5, 6]);
    expect(a.seen.item()).toBe(7);

    const dict = b.stateDict();
    dict.weight = tensor([9, 9]);
    delete dict.seen;
    dict.scale = tensor([1, 2, 3]);
    dict.extra = tensor([0]);
    const e = errorOf(() => a.loadStateDict(dict));
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.message).toContain('3 problems');
    expect(e.message).toContain("'seen' is missing (the model's is [])");
    expect(e.message).toContain("'scale' has shape [3] in the state dict but [2] in the model");
    expect(e.message).toContain("'extra' [1] is not a parameter or buffer of this model");
    expect(Array.from(a.weight.data)).toEqual([1, 2]);
    expect(Array.from(a.scale.data)).toEqual([5, 6]);
  });

  it('train() and eval() reach buffers-holding layers nested at any depth', () => {
    const bn = new BatchNorm1d(2);
    const net = new Sequential(new Sequential(new Sequential(bn)));
    net.eval();
    expect(bn.training).toBe(false);
    net.train();
    expect(bn.training).toBe(true);
  });
});

describe('forward with several inputs', () => {
  it('a module takes them, and Sequential hands them all to its first layer', () => {
    const pair = new Pair();
    expect(Array.from(pair.forward(tensor([1, 2]), tensor([10, 20])).data)).toEqual([12, 24]);
    const net = new Sequential(pair, new ReLU());
    expect(Array.from(net.forward(tensor([-10, 2]), tensor([1, 1])).data)).toEqual([0, 5]);
    const asModule: Module = pair;
    expect(asModule.forward(tensor([1]), tensor([1])).item()).toBe(3);
  });
});
