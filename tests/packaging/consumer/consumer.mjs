// Uses each published package the way its README shows, from plain JavaScript.
import assert from 'node:assert/strict';
import { grad, matmul, ShapeError, tensor } from '@neurite/tensor';

{
  const cube = (x) => x.pow(3).sum();
  const x = tensor([1, 2, 3]);
  assert.deepEqual(grad(cube)(x).toArray(), [3, 12, 27]);
  // A gradient is a graph, so it differentiates again: d/dx 3x² = 6x.
  assert.deepEqual(grad((y) => grad(cube)(y).sum())(x).toArray(), [6, 12, 18]);
  assert.throws(() => matmul(tensor([[1, 2]]), tensor([[1, 2]])), ShapeError);
  console.log('ok @neurite/tensor');
}
