import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  conv2d,
  hessian,
  hvp,
  jacfwd,
  jacobian,
  jacrev,
  jvp,
  matmul,
  type Tensor,
  vjp,
} from '../src/index.js';
import { uniform } from './support.js';

/**
 * The transforms against PyTorch's torch.autograd.functional in float64, on
 * compositions of tanh, exp, log, sigmoid, softmax, matmul and conv2d with
 * several arguments: every result to 1e-9 relative (to the largest
 * magnitude of that result). PyTorch runs in a separate Python process
 * (test/torch-transforms.py); where no Python with torch is found the
 * check is skipped and says why. NEURITE_TORCH_PYTHON names the
 * interpreter; without it, /usr/bin/python3, then python3 on the PATH.
 */

type Fn = (...xs: Tensor[]) => Tensor;

const functions: Record<string, Fn> = {
  layer: (x, W, b) => matmul(W!, x!).add(b!).tanh().softmax(-1),
  mixture: (x, y) =>
    x!
      .mul(y!)
      .exp()
      .sum()
      .log()
      .add(x!.sigmoid().pow(2).mul(y!).sum().div(y!.mul(y!).sum().add(1))),
  conv: (x, w) => conv2d(x!, w!, null, { padding: 1 }).tanh().pow(2).mean(),
  product: (A, B) => matmul(A!, B!).logSoftmax(-1),
  elementwise: (x) => x!.mul(x!).add(1).sqrt().mul(x!.mul(x!).add(2).log()).add(x!.pow(3)),
};

const shapes: Record<string, number[][]> = {
  layer: [[5], [3, 5], [3]],
  mixture: [[4], [4]],
  conv: [
    [1, 2, 5, 5],
    [3, 2, 3, 3],
  ],
  product: [
    [3, 4],
    [4, 2],
  ],
  elementwise: [[3]],
};

interface Plain {
  shape: number[];
  data: number[];
}
interface TorchResult {
  out: Plain;
  jacobian: Plain[];
  jvp: Plain;
  vjp: Plain[];
  hessian?: Plain[][];
  hvp?: Plain[];
}

const plain = (t: Tensor): Plain => ({ shape: [...t.shape], data: Array.from(t.data) });

/** The interpreter to run PyTorch with, or why there is none. */
function findTorch(): { python: string } | { reason: string } {
  const named = process.env.NEURITE_TORCH_PYTHON;
  const candidates = named ? [named] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python };
  }
  return { reason: `no Python with torch among ${candidates.join(', ')}` };
}

const torch = findTorch();
const cases = Object.keys(functions).map((name, c) => {
  const inputs = shapes[name]!.map((s, k) => uniform(s, 100 * c + k, -1.5, 1.5));
  const tangents = shapes[name]!.map((s, k) => uniform(s, 100 * c + 50 + k));
  const out = functions[name]!(...inputs);
  const cotangent = uniform([...out.shape], 100 * c + 90);
  return { name, inputs, tangents, cotangent };
});

/** Every value of `got` within 1e-9 of `want`'s largest magnitude (1 at least for all-zero results). */
function expectMatches(got: Tensor, want: Plain, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  const scale = Math.max(...want.data.map(Math.abs), Number.MIN_VALUE);
  const g = Array.from(got.data);
  let worst = 0;
  want.data.forEach((w, i) => {
    worst = Math.max(worst, Math.abs(g[i]! - w) / scale);
  });
  expect(worst, `${what}: worst relative difference`).toBeLessThanOrEqual(1e-9);
}

describe('the transforms against torch.autograd.functional (float64)', () => {
  if ('reason' in torch) {
    it.skip(`skipped: ${torch.reason}`, () => {});
    return;
  }
  const script = fileURLToPath(new URL('./torch-transforms.py', import.meta.url));
  const run = spawnSync(torch.python, [script], {
    input: JSON.stringify(
      cases.map((c) => ({
        name: c.name,
        inputs: c.inputs.map(plain),
        tangents: c.tangents.map(plain),
        cotangent: plain(c.cotangent),
      })),
    ),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const results = (run.status === 0 ? JSON.parse(run.stdout) : []) as TorchResult[];

  it('PyTorch ran', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(results).toHaveLength(cases.length);
  });

  cases.forEach((c, i) => {
    const f = functions[c.name]!;
    const many = <T>(r: T | T[]): T[] => (c.inputs.length === 1 ? [r as T] : (r as T[]));

    it(`${c.name}: value, jacobian (jacrev, jacfwd), jvp, vjp`, () => {
      const want = results[i]!;
      expectMatches(f(...c.inputs), want.out, 'f');
      for (const [name, transform] of [
        ['jacobian', jacobian],
        ['jacrev', jacrev],
        ['jacfwd', jacfwd],
      ] as const) {
        const jac = many(transform(f)(...c.inputs));
        jac.forEach((j, k) => {
          expectMatches(j, want.jacobian[k]!, `${name} of input ${k}`);
        });
      }
      const [, tangent] = jvp(f, c.inputs, c.tangents);
      expectMatches(tangent, want.jvp, 'jvp');
      const [, pullback] = vjp(f, ...c.inputs);
      pullback(c.cotangent).forEach((g, k) => {
        expectMatches(g, want.vjp[k]!, `vjp of input ${k}`);
      });
    });

    if (c.cotangent.size === 1) {
      it(`${c.name}: hessian, hvp`, () => {
        const want = results[i]!;
        const h = hessian(f)(...c.inputs);
        const blocks = c.inputs.length === 1 ? [[h as Tensor]] : (h as Tensor[][]);
        blocks.forEach((row, a) => {
          row.forEach((block, b) => {
            expectMatches(block, want.hessian![a]![b]!, `hessian block [${a}][${b}]`);
          });
        });
        const [, products] = hvp(f, c.inputs, c.tangents);
        products.forEach((p, k) => {
          expectMatches(p, want.hvp![k]!, `hvp of input ${k}`);
        });
      });
    }
  });
});
