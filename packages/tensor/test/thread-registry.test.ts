import { expect, it } from 'vitest';
import { memoryShared } from '../src/kernels/memory.js';
import { register, registerFunction } from '../src/kernels/threads.js';
import { f32, f32c, f32load, f32store, func, get, wasmModule } from '../src/kernels/wasm/emit.js';

/** out[0] = in[0] + c: a module per constant, each a different binary. */
const addConstant = (c: number) =>
  func('f', 'ii', '', '', (x, out) => f32store(get(out), f32.add(f32load(get(x)), f32c(c))));

it('a module registered again takes its old number, not another slot', () => {
  const first = registerFunction(addConstant(1));
  expect(first).not.toBeNull(); // Node runs workers
  // The same code rebuilt (a bounded kernel cache evicts and remakes it).
  const binary = wasmModule([addConstant(1)], memoryShared());
  expect(register(new WebAssembly.Module(binary), binary)).toBe(first);
  expect(registerFunction(addConstant(1))).toBe(first);
  // Other code gets a number of its own.
  const second = registerFunction(addConstant(2));
  expect(second).not.toBe(first);
  expect(registerFunction(addConstant(2))).toBe(second);
});
