import { describe, expect, it } from 'vitest';
import {
  CompileError,
  compile,
  full,
  linspace,
  ones,
  rand,
  randint,
  randn,
  type Tensor,
  tensor,
  where,
  zeros,
} from '../src/index.js';

/** A plan replays ops: values read while tracing, or filled in from JavaScript, would be frozen. */
describe('compile refuses to freeze values', () => {
  it('throws a CompileError naming the op when a step branches on item()', () => {
    const f = compile((x: Tensor) => (x.sum().item() > 0 ? x.mul(2) : x.mul(-1)));
    expect(() => f(tensor([-5, -6]))).toThrow(CompileError);
    expect(() => f(tensor([-5, -6]))).toThrow(
      /item\(\) reads the values of the result of sum \[\]/,
    );
    expect(() => f(tensor([-5, -6]))).toThrow(/where\(cond, a, b\)/);
    expect(() => f(tensor([-5, -6]))).toThrow(/as arguments/);
  });

  it('names an argument, a closed-over tensor, toArray() and data', () => {
    const w = tensor([1, 2]);
    expect(() => compile((x: Tensor) => tensor([x.toArray() as number[]]))(tensor([1]))).toThrow(
      /toArray\(\) reads the values of argument 0 \[1\]/,
    );
    expect(() => compile((x: Tensor) => x.mul(w.data[0]!))(tensor([1]))).toThrow(
      /data reads the values of a tensor from outside the step .*\[2\]/,
    );
    // A reshape shares its input's storage: the op named is the one that made the values.
    expect(() =>
      compile((x: Tensor) => x.exp().reshape([2, 1]).detach().toArray() as never)(tensor([1, 2])),
    ).toThrow(/the result of (exp|reshape)/);
  });

  it('gives the eager answer where the branch is written with where()', () => {
    const step = (x: Tensor) => where(x.sum().gt(0), x.mul(2), x.mul(-1));
    const f = compile(step);
    expect((f(tensor([1, 2])) as Tensor).toArray()).toEqual([2, 4]);
    expect((f(tensor([-5, -6])) as Tensor).toArray()).toEqual([5, 6]);
    expect((f(tensor([-5, -6])) as Tensor).toArray()).toEqual(
      (step(tensor([-5, -6])) as Tensor).toArray(),
    );
  });

  it('throws when a tensor is filled from JavaScript values while tracing', () => {
    let calls = 0;
    const fill = [
      () => tensor([calls]),
      () => full([1], calls),
      () => linspace(0, calls, 1),
      () => rand([1]),
      () => randn([1]),
      () => randint(0, 3, [1]),
    ];
    for (const make of fill) {
      const f = compile((x: Tensor) => {
        calls++;
        return x.add(make());
      });
      expect(() => f(tensor([1]))).toThrow(CompileError);
      expect(() => f(tensor([1]))).toThrow(/from JavaScript values while tracing/);
    }
  });

  it('allows values that follow from shapes, and reads of constants made inside the step', () => {
    const f = compile((x: Tensor) => {
      const z = zeros(x.shape).add(ones([1]));
      // A constant made inside the step is the same on every call: reading it is safe.
      const k = z.shape.length === 1 ? 1 : 0;
      return x.add(z).mul(k);
    });
    expect((f(tensor([1, 2])) as Tensor).toArray()).toEqual([2, 3]);
    expect((f(tensor([5, 6])) as Tensor).toArray()).toEqual([6, 7]);
  });

  it('reads freely outside a trace and after it', () => {
    const f = compile((x: Tensor) => x.mul(3));
    const y = f(tensor([2])) as Tensor;
    expect(y.item()).toBe(6);
    expect(Array.from(y.data)).toEqual([6]);
  });
});
