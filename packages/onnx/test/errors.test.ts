import { Dropout, Linear, Module, ReLU, Sequential } from '@neurite/nn';
import { bernoulli, Rng, randn, type Tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { OnnxExportError, toOnnx } from '../src/index.js';
import { maxDifference, runOnnx } from './ort.js';

/** A layer that adds noise: a random op, which ONNX cannot replay as neurite draws it. */
class Noise extends Module {
  forward(x: Tensor): Tensor {
    return x.add(bernoulli(x.shape, 0.5, new Rng(1)));
  }
}

describe('refusals', () => {
  it('names an op with no ONNX form and the module it runs in', () => {
    const model = new Sequential(new Linear(4, 3, { rng: 1 }), new Noise());
    expect(() => toOnnx(model, { inputShape: [2, 4] })).toThrow(OnnxExportError);
    expect(() => toOnnx(model, { inputShape: [2, 4] })).toThrow(
      /op bernoulli #\d+ \(in 1 \(Noise\); inputs none, output \[2, 3\]\): it draws random numbers/,
    );
  });

  it('names the op in a plain function too', () => {
    const fn = (x: Tensor) => x.mul(bernoulli(x.shape, 0.5, new Rng(2)));
    expect(() => toOnnx(fn, { inputShape: [3] })).toThrow(/op bernoulli #0 \(at the top level/);
  });

  it('refuses a constant that depends on a dynamic dimension', () => {
    // mean over the batch divides by the batch size, which the trace saw as a number.
    const fn = (x: Tensor) => x.sub(x.mean(0, true));
    expect(() => toOnnx(fn, { inputShape: ['batch', 4] })).toThrow(
      /a constant of shape \[\] read by op div .* changes with the dynamic dimensions/,
    );
  });

  it('refuses a function whose ops change with a dynamic dimension', () => {
    const fn = (x: Tensor) => (x.shape[0]! > 3 ? x.relu() : x.neg());
    expect(() => toOnnx(fn, { inputShape: ['batch', 4] })).toThrow(
      /runs different ops when a dynamic dimension changes \(op #0: neg, then relu/,
    );
  });

  it('refuses bad options with what was wrong', () => {
    const fn = (x: Tensor) => x.relu();
    expect(() => toOnnx(fn, { inputShape: [2], opset: 12 })).toThrow(/opset 12 is not supported/);
    expect(() => toOnnx(fn, {})).toThrow(/give the input shape/);
    expect(() => toOnnx(fn, { inputShape: [2.5] })).toThrow(/inputShapes\[0\]\[0\] is 2.5/);
    expect(() => toOnnx(fn, { inputShape: [2], outputNames: ['input'] })).toThrow(
      /input is given twice/,
    );
  });
});

describe('modules', () => {
  it('exports in evaluation mode and restores training mode', async () => {
    const model = new Sequential(
      new Linear(4, 8, { rng: 1 }),
      new ReLU(),
      new Dropout(0.5, { rng: 2 }),
    );
    expect(model.training).toBe(true);
    const bytes = toOnnx(model, { inputShape: ['n', 4], inputNames: ['x'], outputNames: ['y'] });
    expect(model.training).toBe(true);
    const x = randn([5, 4], { rng: new Rng(3) });
    const expected = model.eval().forward(x);
    const { y } = await runOnnx(bytes, { x });
    expect(maxDifference(y!.data, expected.data)).toBeLessThanOrEqual(1e-6);
    // The export left every forward method as it was.
    expect(Object.hasOwn(model.layers[0]!, 'forward')).toBe(false);
  });
});
