import { isFloat } from '../dtype.js';
import { Tensor } from '../tensor.js';

/** Where ops accept a tensor, they accept a plain number too. */
export type Operand = Tensor | number;

/** Turns a number into a scalar tensor of `like`'s dtype (float32 if `like` is int32 and the number is not). */
export function lift(x: Operand, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const dtype = !isFloat(like.dtype) && !Number.isInteger(x) ? 'float32' : like.dtype;
  return Tensor.scalar(x, dtype);
}

/** Lifts a pair where either side may be a number. */
export function liftPair(a: Operand, b: Operand): [Tensor, Tensor] {
  if (a instanceof Tensor) return [a, lift(b, a)];
  if (b instanceof Tensor) return [lift(a, b), b];
  return [Tensor.scalar(a), Tensor.scalar(b)];
}
