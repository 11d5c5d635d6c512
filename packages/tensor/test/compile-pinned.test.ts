import { describe, expect, it } from 'vitest';
import { assignInPlace, compile, noGrad, Rng, type Tensor, tensor, zeros } from '../src/index.js';
import { pinnedBytes } from '../src/kernels/memory.js';
import { loopCopies } from '../src/kernels/wasm-loop.js';

// A compiled step moves the gradients it leaves in `.grad` into the kernels'
// memory; with the parameters and the update's buffers pinned too, the fused
// update loop reads and writes them all in place: no float copied in or out.

const bytesOf = (t: Tensor) =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();

function setup(pinned: boolean) {
  const rng = new Rng(3);
  const leaf = (shape: number[]) => {
    const t = tensor(
      Float32Array.from({ length: shape[0]! * shape[1]! }, () => rng.normal()),
      { shape },
    );
    const p = pinned ? t.pinMemory() : t.requireGrad(false);
    p.requiresGrad = true;
    return p;
  };
  const w = leaf([16, 64]);
  const m = pinned ? zeros([16, 64]).pinMemory() : zeros([16, 64]);
  const lr = tensor([0.05]).reshape([]);
  // An update of the kind optimisers make: a moment, then the weight.
  const step = (x: Tensor) => {
    w.grad = null;
    const loss = x.matmul(w, { transB: true }).relu().square().mean();
    loss.backward();
    noGrad(() => {
      const g = w.grad!;
      const next = m.mul(0.9).add(g.mul(0.1));
      assignInPlace(m, next);
      assignInPlace(w, w.sub(next.div(next.abs().add(1e-3)).mul(lr)));
    });
    return loss;
  };
  return { w, m, step };
}

const inputs = () => {
  const rng = new Rng(9);
  return Array.from({ length: 5 }, () =>
    tensor(
      Float32Array.from({ length: 8 * 64 }, () => rng.normal()),
      { shape: [8, 64] },
    ),
  );
};

describe('compile: gradients in the kernels’ memory', () => {
  it('leaves a pinned gradient, and the update copies nothing when its arrays are pinned', () => {
    const { w, m, step } = setup(true);
    const f = compile(step);
    const xs = inputs();
    f(xs[0]!);
    expect(w.isPinned()).toBe(true);
    expect(w.grad!.isPinned()).toBe(true);
    const grad = w.grad;
    const before = loopCopies();
    for (const x of xs.slice(1)) f(x);
    expect(loopCopies() - before).toBe(0);
    // Replays write the gradient the step left, in place.
    expect(w.grad).toBe(grad);
    expect(m.isPinned()).toBe(true);
  });

  it('copies plain arrays in and out, to the same bits as pinned ones and as eager', () => {
    const pinned = setup(true);
    const plain = setup(false);
    const eager = setup(false);
    const fp = compile(pinned.step);
    const fq = compile(plain.step);
    const xs = inputs();
    for (const x of xs.slice(0, 1)) {
      fp(x);
      fq(x);
      eager.step(x);
    }
    expect(plain.w.isPinned()).toBe(false);
    expect(plain.w.grad!.isPinned()).toBe(true); // the plan's gradient is pinned either way
    const before = loopCopies();
    for (const x of xs.slice(1)) {
      fq(x);
      eager.step(x);
    }
    expect(loopCopies() - before).toBeGreaterThan(0);
    for (const x of xs.slice(1)) fp(x);
    for (const [a, b] of [
      [pinned.w, plain.w],
      [pinned.m, plain.m],
      [pinned.w.grad!, plain.w.grad!],
      [pinned.w, eager.w],
      [pinned.m, eager.m],
      [pinned.w.grad!, eager.w.grad!],
    ] as const) {
      expect(bytesOf(a)).toEqual(bytesOf(b));
    }
  });

  it('keeps one gradient array per leaf across signatures: .grad is current, memory flat', () => {
    const { w, m, step } = setup(true);
    const eager = setup(true);
    const f = compile(step, { maxPlans: 2 });
    const rng = new Rng(4);
    const batch = (n: number) =>
      tensor(
        Float32Array.from({ length: n * 64 }, () => rng.normal()),
        { shape: [n, 64] },
      );
    const first = batch(8);
    f(first);
    eager.step(first);
    const home = w.grad!.data;
    let held = 0;
    for (let round = 0; round < 3; round++) {
      for (const n of [3, 5, 8, 11, 8, 3]) {
        const x = batch(n);
        f(x);
        eager.step(x);
        // Every plan writes the one array `.grad` holds, whichever traced it.
        expect(w.grad!.data).toBe(home);
        expect(bytesOf(w.grad!)).toEqual(bytesOf(eager.w.grad!));
      }
      if (round === 0) held = pinnedBytes();
    }
    expect(bytesOf(w)).toEqual(bytesOf(eager.w));
    expect(bytesOf(m)).toEqual(bytesOf(eager.m));
    // New plans replace dropped ones; no new gradient array per signature.
    expect(pinnedBytes()).toBeLessThanOrEqual(held);
  });
});
