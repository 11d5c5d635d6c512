import { describe, expect, it } from 'vitest';
import {
  AxisError,
  argmax,
  broadcastTo,
  concat,
  DTypeError,
  GradError,
  grad,
  IndexError,
  indexSelect,
  logSoftmax,
  matmul,
  NeuriteError,
  oneHot,
  ones,
  ShapeError,
  softmax,
  stack,
  tensor,
  valueAndGrad,
  where,
  zeros,
} from '../src/index.js';
import { thrown } from './support.js';

/** Asserts the error's class and that its message contains every fragment. */
function expectError(fn: () => unknown, type: typeof NeuriteError, ...fragments: string[]) {
  const e = thrown(fn);
  expect(e, e.message).toBeInstanceOf(type);
  expect(e).toBeInstanceOf(NeuriteError);
  for (const f of fragments) expect(e.message).toContain(f);
}

const z = (...shape: number[]) => zeros(shape);

describe('shape errors name the op and every shape', () => {
  it('matmul: inner dimensions', () => {
    const e = thrown(() => matmul(z(64, 784), z(16, 10)));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('matmul: inner dimensions differ: [64, 784] @ [16, 10]');
    expect(e.name).toBe('ShapeError');
  });

  it('matmul: inner dimensions of transposed operands', () => {
    expectError(
      () => matmul(z(64, 784), z(16, 10), { transB: true }),
      ShapeError,
      'matmul',
      '[64, 784]',
      '[16, 10]ᵀ',
    );
    expectError(
      () => z(3, 4).matmul(z(3, 5), { transA: false }),
      ShapeError,
      'matmul',
      '[3, 4]',
      '[3, 5]',
    );
  });

  it('matmul: batch axes that do not broadcast', () => {
    expectError(
      () => matmul(z(2, 3, 4), z(5, 4, 6)),
      ShapeError,
      'matmul',
      '[2, 3, 4]',
      '[5, 4, 6]',
    );
    expectError(
      () => matmul(z(2, 7, 3, 4), z(3, 4, 6)),
      ShapeError,
      'matmul',
      '[2, 7, 3, 4]',
      '[3, 4, 6]',
    );
  });

  it('matmul: vectors and scalars', () => {
    expectError(() => matmul(z(3), z(4, 5)), ShapeError, 'matmul', '[3]', '[4, 5]');
    expectError(() => matmul(z(4, 5), z(3)), ShapeError, 'matmul', '[4, 5]', '[3]');
    expectError(() => matmul(z(3), z(4)), ShapeError, 'matmul', '[3]', '[4]');
    expectError(() => matmul(z(), z(4)), ShapeError, 'matmul', '[]', '[4]');
  });

  it.each([
    ['add', (a, b) => a.add(b)],
    ['sub', (a, b) => a.sub(b)],
    ['mul', (a, b) => a.mul(b)],
    ['div', (a, b) => a.div(b)],
    ['pow', (a, b) => a.pow(b)],
    ['maximum', (a, b) => a.maximum(b)],
    ['minimum', (a, b) => a.minimum(b)],
    ['eq', (a, b) => a.eq(b)],
    ['lt', (a, b) => a.lt(b)],
    ['gt', (a, b) => a.gt(b)],
    ['le', (a, b) => a.le(b)],
    ['ge', (a, b) => a.ge(b)],
  ] as [string, (a: ReturnType<typeof z>, b: ReturnType<typeof z>) => unknown][])(
    'elementwise %s: shapes that do not broadcast',
    (name, op) => {
      expectError(() => op(z(2, 3), z(4)), ShapeError, `${name}:`, '[2, 3]', '[4]');
      expectError(
        () => op(z(5, 1, 3), z(2, 2, 1)),
        ShapeError,
        `${name}:`,
        '[5, 1, 3]',
        '[2, 2, 1]',
      );
    },
  );

  it('where: all three shapes', () => {
    expectError(() => where(z(2, 1), z(3), z(4)), ShapeError, 'where', '[2, 1]', '[3]', '[4]');
  });

  it('reshape: element counts differ', () => {
    expectError(() => z(2, 3).reshape([4, 2]), ShapeError, 'reshape', '[2, 3]', '[4, 2]');
    expectError(() => z(2, 3).reshape([4, -1]), ShapeError, 'reshape', '[2, 3]', '[4, -1]');
    expectError(() => z(2, 3).reshape([-1, -1]), ShapeError, 'reshape', '[-1, -1]');
  });

  it('broadcastTo: a shape it cannot reach', () => {
    expectError(() => broadcastTo(z(3, 2), [3, 4]), ShapeError, 'broadcastTo', '[3, 2]', '[3, 4]');
    expectError(() => broadcastTo(z(2, 3), [3]), ShapeError, 'broadcastTo', '[2, 3]', '[3]');
  });

  it('concat and stack: shapes that do not fit', () => {
    expectError(
      () => concat([z(2, 3), z(2, 4), z(3, 3)], 1),
      ShapeError,
      'concat',
      '[2, 3]',
      '[2, 4]',
      '[3, 3]',
    );
    expectError(() => concat([z(2, 3), z(3)], 0), ShapeError, 'concat', '[2, 3]', '[3]');
    expectError(() => concat([], 0), ShapeError, 'concat');
    expectError(() => stack([z(2, 3), z(3, 2)]), ShapeError, 'stack', '[2, 3]', '[3, 2]');
  });

  it('squeeze, permute and slice', () => {
    expectError(() => z(1, 3).squeeze(1), ShapeError, 'squeeze', '[1, 3]');
    expectError(() => z(2, 3).permute([0, 0]), ShapeError, 'permute', '[2, 3]', '[0, 0]');
    expectError(() => z(2, 3).permute([0]), ShapeError, 'permute', '[2, 3]');
    expectError(() => z(2, 3).slice([0, 0, 0]), ShapeError, 'slice', '[2, 3]');
  });

  it('tensor(): ragged nested arrays and wrong sizes', () => {
    expectError(
      () => tensor([[1, 2], [3]]),
      ShapeError,
      'tensor',
      'ragged',
      'at [1]',
      'expected 2 entries',
      '[2, 2]',
    );
    expectError(() => tensor([[1, 2], 3] as never), ShapeError, 'tensor', 'ragged', '[1]');
    expectError(() => tensor([1, [2, 3]] as never), ShapeError, 'tensor', 'ragged', '[1]');
    expectError(
      () =>
        tensor([
          [
            [1, 2],
            [3, 4],
          ],
          [[5, 6], [7]],
        ]),
      ShapeError,
      'tensor',
      '[1, 1]',
      '[2, 2, 2]',
    );
    expectError(() => tensor([1, 2, 3], { shape: [2, 2] }), ShapeError, 'tensor', '3', '[2, 2]');
    expectError(
      () => tensor(new Float32Array(5), { shape: [2, 3] }),
      ShapeError,
      'tensor',
      '5',
      '[2, 3]',
    );
  });

  it('max over an empty axis', () => {
    expectError(() => z(0, 3).max(0), ShapeError, 'max', '[0, 3]');
    expectError(() => z(0).min(), ShapeError, 'min', '[0]');
  });
});

describe('axis errors', () => {
  it.each([
    ['sum', () => z(2, 3).sum(2)],
    ['sum', () => z(2, 3).sum(-3)],
    ['mean', () => z(2, 3).mean([0, 5])],
    ['max', () => z(2, 3).max(7)],
    ['logSumExp', () => z(2, 3).logSumExp(2)],
    ['argmax', () => argmax(z(2, 3), 2)],
    ['softmax', () => softmax(z(2, 3), 2)],
    ['logSoftmax', () => logSoftmax(z(2, 3), -3)],
    ['concat', () => concat([z(2), z(2)], 1)],
    ['transpose', () => z(2, 3).transpose(0, 2)],
    ['squeeze', () => z(1, 3).squeeze(2)],
    ['permute', () => z(2, 3).permute([0, 2])],
    ['narrow', () => z(2, 3).narrow(2, 0, 1)],
    ['indexSelect', () => indexSelect(z(2, 3), 2, tensor([0], { dtype: 'int32' }))],
  ] as [string, () => unknown][])('%s', (name, fn) => {
    expectError(fn, AxisError, `${name}:`, 'out of range');
  });

  it('transpose of a vector checks the axes it is given', () => {
    expectError(() => z(3).transpose(0, 5), AxisError, 'transpose', '5');
    expect(z(3).T.shape).toEqual([3]);
    expect(z(3).transpose(0, 0).shape).toEqual([3]);
  });

  it('a non-integer axis', () => {
    expectError(() => z(2, 3).sum(0.5), AxisError, 'sum', '0.5');
  });

  it('a repeated axis', () => {
    expectError(() => z(2, 3).sum([1, -1]), AxisError, 'sum', 'repeated');
  });

  it('a new axis out of range names the rank of the tensor it was asked of', () => {
    expectError(() => z(2, 3).expandDims(3), AxisError, 'expandDims', '3', '[2, 3]');
    expectError(() => z(2, 3).expandDims(-4), AxisError, 'expandDims', '-4', '[2, 3]');
    expectError(() => stack([z(2), z(2)], 2), AxisError, 'stack', '2', '[2]');
  });
});

describe('index errors', () => {
  it('indexSelect: an index outside the axis', () => {
    expectError(
      () => indexSelect(z(4, 3), 0, tensor([0, 4], { dtype: 'int32' })),
      IndexError,
      'indexSelect',
      '4',
      '[0, 4)',
    );
    expectError(
      () => indexSelect(z(4, 3), 1, tensor([-1], { dtype: 'int32' })),
      IndexError,
      'indexSelect',
      '-1',
      '[0, 3)',
    );
  });

  it('oneHot: a label outside the classes', () => {
    expectError(() => oneHot(tensor([1, 10], { dtype: 'int32' }), 10), IndexError, 'oneHot', '10');
    expectError(() => oneHot(tensor([-1], { dtype: 'int32' }), 3), IndexError, 'oneHot', '-1');
  });

  it('narrow: a range outside the axis', () => {
    expectError(() => z(2, 3).narrow(1, 2, 2), IndexError, 'narrow', '[2, 4)', '[2, 3]');
    expectError(() => z(2, 3).narrow(0, -1, 1), IndexError, 'narrow');
  });

  it('item() of a tensor with more than one element', () => {
    expectError(() => z(2, 3).item(), IndexError, 'item', '[2, 3]', '6');
  });
});

describe('dtype errors', () => {
  const i32 = tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'int32' },
  );
  it('matmul of int32', () => {
    expectError(() => matmul(i32, ones([2, 2])), DTypeError, 'matmul', 'int32');
  });

  it('softmax and logSoftmax of int32', () => {
    expectError(() => softmax(i32), DTypeError, 'softmax', 'int32');
    expectError(() => logSoftmax(i32), DTypeError, 'logSoftmax', 'int32');
  });

  it('indexSelect with float indices', () => {
    expectError(
      () => indexSelect(z(3, 2), 0, tensor([0, 1])),
      DTypeError,
      'indexSelect',
      'float32',
    );
  });

  it('oneHot of float labels', () => {
    expectError(() => oneHot(tensor([0, 1]), 2), DTypeError, 'oneHot', 'float32', '[2]');
  });

  it('an unknown dtype name', () => {
    expectError(() => tensor([1], { dtype: 'float16' as never }), DTypeError, 'float16');
    expectError(() => zeros([2], { dtype: 'uint8' as never }), DTypeError, 'uint8');
    expectError(() => z(2).cast('bool' as never), DTypeError, 'bool');
  });

  it('differentiating an int32 result', () => {
    const x = tensor([1.5, 2.5], { requiresGrad: true });
    expectError(() => x.cast('int32').sum().backward(), DTypeError, 'backward', 'int32');
  });
});

describe('autodiff misuse', () => {
  it('backward() of a non-scalar without a seed names its shape', () => {
    const x = ones([2, 3], { requiresGrad: true });
    expectError(() => x.mul(2).backward(), GradError, 'backward', '[2, 3]', 'seed');
  });

  it('a seed of the wrong shape', () => {
    const x = ones([2, 3], { requiresGrad: true });
    expectError(() => x.mul(2).backward(ones([3, 2])), GradError, 'backward', '[3, 2]', '[2, 3]');
  });

  it('backward() of a tensor outside any graph', () => {
    expectError(() => ones([1]).backward(), GradError, 'backward', 'require');
  });

  it('grad of a non-scalar function', () => {
    expectError(() => grad((x) => x.mul(2))(ones([3])), GradError, 'grad', '[3]');
    expectError(() => valueAndGrad((x) => x.exp())(ones([2, 2])), GradError, 'grad', '[2, 2]');
  });
});
