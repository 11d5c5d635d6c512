// Assembles src/kernels/wasm/*.wat into src/kernels/wasm/*.wasm.ts (base64),
// so the package ships its WebAssembly inside its JavaScript: no native
// build, no download, the same bytes in Node and in browsers.
// Every module imports the kernels' one memory as `env.memory`, declared
// shared; `flagAt` records the byte of that import's limits flag, so that
// src/kernels/memory.ts can turn the same binary into one importing a plain
// memory where SharedArrayBuffer is missing.
// Usage: node scripts/build-wasm.mjs [--check]   (--check fails if out of date)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';

const dir = new URL('../src/kernels/wasm/', import.meta.url).pathname;
const check = process.argv.includes('--check');
const wabt = await wabtInit();
let stale = 0;
/** The memory import every module declares, e.g. (import "env" "memory" (memory 1 65536 shared)). */
const MEMORY_IMPORT = /(\(import "env" "memory" \(memory \d+ \d+) shared\)\)/;

function assemble(file, source) {
  const features = { simd: true, threads: true };
  const module = wabt.parseWat(file, source, features);
  module.validate(features);
  return module.toBinary({}).buffer;
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const source = readFileSync(join(dir, file), 'utf8');
  const buffer = assemble(file, source);
  const plain = assemble(file, source.replace(MEMORY_IMPORT, '$1))'));
  const differ = [...buffer.keys()].filter((i) => buffer[i] !== plain[i]);
  if (plain.length !== buffer.length || differ.length !== 1 || buffer[differ[0]] !== 0x03) {
    throw new Error(`${file}: expected one import of a shared memory, ${MEMORY_IMPORT}`);
  }
  const base64 = Buffer.from(buffer).toString('base64');
  const out = join(dir, file.replace(/\.wat$/, '.wasm.ts'));
  const text = `// Assembled from ${file} by scripts/build-wasm.mjs: edit the .wat, then run it.\nexport const bytes =\n  '${base64}';\n/** The byte of the memory import's limits flag (0x03, shared; see kernels/memory.ts). */\nexport const flagAt = ${differ[0]};\n`;
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== text) {
    stale++;
    if (!check) writeFileSync(out, text);
  }
  console.log(
    `${file}: ${buffer.length} bytes${current === text ? '' : check ? ' (out of date)' : ' (written)'}`,
  );
}
if (check && stale > 0) process.exit(1);
