import { afterEach, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { arena, freePinned, pinnedArray } from '../src/kernels/memory.js';
import { setParallelThreshold, setThreads } from '../src/kernels/threads.js';

const { compile, conv2d, maxPool2d, Rng, randn } = api;

afterEach(() => {
  setThreads(api.availableCores());
  setParallelThreshold();
});

// Byte offsets past 2 GiB do not fit a signed 32-bit integer: every kernel
// must carry them as unsigned (WebAssembly addresses) or as plain numbers.
it('kernels read and write pinned arrays that lie past 2 GiB of the kernels’ memory', () => {
  const rng = new Rng(5);
  const x = randn([1 << 18], { rng });
  const y = randn([1 << 18], { rng });
  const images = randn([8, 3, 16, 16], { rng });
  const filters = randn([4, 3, 3, 3], { rng });
  const a = randn([64, 784], { rng });
  const w = randn([784, 16], { rng });
  const step = (x: api.Tensor, y: api.Tensor) => x.mul(y).add(x).relu();
  const net = (images: api.Tensor) => maxPool2d(conv2d(images, filters).relu(), 2);
  const run = () => [
    step(x, y),
    compile(step)(x, y),
    net(images),
    compile(net)(images),
    a.matmul(w),
  ];
  const plain = run().map((t) => Array.from(t.data));

  // An untouched block of just over 2 GiB below everything pinned next
  // (a fresh block is zero already, so it costs no memory).
  const low = pinnedArray('float32', 2 ** 29 + 1024);
  try {
    expect(arena()!.bytes).toBeGreaterThan(2 ** 31);
    const high = [x, y, images, a, w].map((t) => t.pinMemory());
    expect(high.every((t) => (t.data as Float32Array).byteOffset >= 2 ** 31)).toBe(true);
    const [px, py, pImages, pa, pw] = high as [
      api.Tensor,
      api.Tensor,
      api.Tensor,
      api.Tensor,
      api.Tensor,
    ];
    for (const threads of [1, 2]) {
      setThreads(threads);
      setParallelThreshold(threads === 1 ? undefined : 0);
      const got = [
        step(px, py),
        compile(step)(px, py),
        net(pImages),
        compile(net)(pImages),
        pa.matmul(pw),
      ].map((t) => Array.from(t.data));
      expect(got).toEqual(plain);
    }
  } finally {
    freePinned(low);
  }
});
