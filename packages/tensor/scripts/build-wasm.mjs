// Assembles src/kernels/wasm/*.wat into src/kernels/wasm/*.wasm.ts (base64),
// so the package ships its WebAssembly inside its JavaScript: no native
// build, no download, the same bytes in Node and in browsers.
// Usage: node scripts/build-wasm.mjs [--check]   (--check fails if out of date)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';

const dir = new URL('../src/kernels/wasm/', import.meta.url).pathname;
const check = process.argv.includes('--check');
const wabt = await wabtInit();
let stale = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const source = readFileSync(join(dir, file), 'utf8');
  const module = wabt.parseWat(file, source, { simd: true });
  module.validate();
  const { buffer } = module.toBinary({});
  const base64 = Buffer.from(buffer).toString('base64');
  const out = join(dir, file.replace(/\.wat$/, '.wasm.ts'));
  const text = `// Assembled from ${file} by scripts/build-wasm.mjs: edit the .wat, then run it.\nexport const bytes =\n  '${base64}';\n`;
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
