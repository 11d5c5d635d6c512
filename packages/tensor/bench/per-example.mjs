// The per-example gradients that transforms.mjs and vmap-warmup.mjs time: the
// 784-16-16-10 network (parameters as nn.Linear lays them out) over 64
// examples of MNIST-like sparsity (81% zeros) with one-hot labels.
import { grad, matmul, Rng, randn, tensor, vmap, zeros } from '../dist/index.js';

/** Cross-entropy of one example: x [784], one-hot y [10]. */
const loss = (w1, b1, w2, b2, w3, b3, xi, yi) => {
  let h = matmul(xi, w1, { transB: true }).add(b1).relu();
  h = matmul(h, w2, { transB: true }).add(b2).relu();
  const logits = matmul(h, w3, { transB: true }).add(b3);
  return logits.logSoftmax().mul(yi).sum().neg();
};

/**
 * `params`, the batch `x`, `y`, `g = grad(loss)`, `perExample = vmap(g)` over
 * the batch, and `rows`: each example's [x, y] for a loop of `g` calls.
 */
export function perExampleSetup(batch = 64) {
  const rng = new Rng(7);
  const sizes = [784, 16, 16, 10];
  const params = [];
  for (let l = 0; l < 3; l++) {
    params.push(randn([sizes[l + 1], sizes[l]], { rng }).mul(1 / Math.sqrt(sizes[l])));
    params.push(zeros([sizes[l + 1]]));
  }
  const x = zeros([batch, 784]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.float() < 0.19 ? rng.float() : 0;
  const labels = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) labels[i * 10 + rng.int(10)] = 1;
  const y = tensor(labels, { shape: [batch, 10] });
  const g = grad(loss);
  const perExample = vmap(g, { inAxes: [null, null, null, null, null, null, 0, 0] });
  const rows = Array.from({ length: batch }, (_, i) => [
    x.narrow(0, i, 1).reshape([784]),
    y.narrow(0, i, 1).reshape([10]),
  ]);
  return { params, x, y, g, perExample, rows, batch };
}
