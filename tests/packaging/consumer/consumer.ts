// Uses each published package from TypeScript; `tsc` checks it against the shipped
// declarations, and each @ts-expect-error proves a type is precise rather than `any`.
import { grad, type Shape, type Tensor, tensor } from '@neurite/tensor';

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`consumer.ts: ${what}`);
}

// Never called: tsc must reject each line.
export function misuses(t: Tensor): void {
  // @ts-expect-error: tensor() takes numbers, not strings
  tensor(['1']);
  // @ts-expect-error: shapes are read-only
  t.shape.push(4);
}

{
  const cube = (x: Tensor): Tensor => x.pow(3).sum();
  const slope: Tensor = grad(cube)(tensor([1, 2, 3]));
  const shape: Shape = slope.shape;
  check(shape.length === 1 && shape[0] === 3, `gradient shape [${shape.join(', ')}]`);
  check(slope.toArray().toString() === '3,12,27', `gradient ${slope.toArray()}`);
  console.log('ok @neurite/tensor');
}
