/** What a compiled step leaves in `.grad`, call after call, against eager. */
import { describe, expect, it } from 'vitest';
import { CompileError, compile, type Tensor, tensor } from '../src/index.js';

const batches = [tensor([1, -1, 2]), tensor([2, 0.5, -2]), tensor([-3, 3, 1])];
const flat = (t: Tensor | null) => (t === null ? null : Array.from(t.data));

/** A weight and a step computing its loss's gradient, with or without clearing `.grad` first. */
function setup(clearInside: boolean) {
  const w = tensor([1, 2, 3], { requiresGrad: true });
  const step = (x: Tensor) => {
    if (clearInside) w.grad = null;
    const loss = w.mul(x).square().sum();
    loss.backward();
    return loss;
  };
  return { w, step };
}

describe('.grad after a compiled call', () => {
  for (const clearInside of [false, true]) {
    it(`holds this call's gradient, as eager, when gradients are cleared ${clearInside ? 'inside the step' : 'before each call'}`, () => {
      const eager = setup(clearInside);
      const compiled = setup(clearInside);
      const run = compile(compiled.step);
      for (const x of batches) {
        eager.w.grad = null;
        eager.step(x);
        if (!clearInside) compiled.w.grad = null;
        run(x);
        expect(flat(compiled.w.grad)).toEqual(flat(eager.w.grad));
      }
      expect(run.plans()).toHaveLength(1); // replayed, not retraced
    });
  }

  it('an update outside the step trains as eager does', () => {
    const train = (compiled: boolean) => {
      const { w, step } = setup(false);
      const run = compiled ? compile(step) : step;
      for (let epoch = 0; epoch < 3; epoch++) {
        for (const x of batches) {
          w.grad = null;
          run(x);
          w.storage.set(w.sub(w.grad!.mul(0.01)).storage);
        }
      }
      return Array.from(w.data);
    };
    expect(train(true)).toEqual(train(false));
  });

  it('refuses a step whose backward() would add to a gradient from an earlier call', () => {
    const { w, step } = setup(false);
    const run = compile(step);
    run(batches[0]!); // traced with .grad empty
    expect(() => run(batches[1]!)).toThrow(CompileError);
    expect(() => run(batches[1]!)).toThrow(
      /compile: the \.grad of a leaf of shape \[3\] holds a gradient from an earlier call, and this step's backward\(\) adds to it.*opt\.zeroGrad\(\)/,
    );
    w.grad = null;
    expect(run(batches[1]!).item()).toBe(step(batches[1]!).item());
  });

  it('refuses to trace a step whose backward() adds to a gradient from before the call', () => {
    const { w, step } = setup(false);
    w.name = 'w';
    w.mul(2).sum().backward();
    expect(() => compile(step)(batches[0]!)).toThrow(
      /compile: this step adds to the \.grad of 'w' of shape \[3\], which holds a gradient from before the call/,
    );
  });
});
