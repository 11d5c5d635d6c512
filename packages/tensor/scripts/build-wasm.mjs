// Assembles src/kernels/wasm/*.wat into src/kernels/wasm/*.wasm.ts (base64),
// so the package ships its WebAssembly inside its JavaScript: no native
// build, no download, the same bytes in Node and in browsers.
// Every module imports the kernels' one memory as `env.memory`, declared
// shared; `flagAt` records the byte of that import's limits flag, so that
// src/kernels/memory.ts can turn the same binary into one importing a plain
// memory where SharedArrayBuffer is missing.
// The GEMM modules are also assembled a second time with every
// multiply-then-add of a sum turned into one f32x4.relaxed_madd (`relaxed`,
// `relaxedFlagAt`): engines with relaxed SIMD (Node 22+, Chrome 114+) run that
// binary, a fused multiply-add where the processor has one.
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

/** Modules whose sums also get a relaxed-SIMD binary (each sums in one order in all its kernels). */
const RELAXED = new Set(['gemm.wat', 'dense.wat']);

function assemble(file, source) {
  const features = { simd: true, threads: true, relaxed_simd: true };
  const module = wabt.parseWat(file, source, features);
  module.validate(features);
  return module.toBinary({}).buffer;
}

/** The binary of `source` and the byte of its memory import's limits flag. */
function binary(file, source) {
  const buffer = assemble(file, source);
  const plain = assemble(file, source.replace(MEMORY_IMPORT, '$1))'));
  const differ = [...buffer.keys()].filter((i) => buffer[i] !== plain[i]);
  if (plain.length !== buffer.length || differ.length !== 1 || buffer[differ[0]] !== 0x03) {
    throw new Error(`${file}: expected one import of a shared memory, ${MEMORY_IMPORT}`);
  }
  return { base64: Buffer.from(buffer).toString('base64'), flagAt: differ[0], size: buffer.length };
}

/** S-expressions of WAT text, comments dropped: atoms are strings, lists arrays. */
function parse(text) {
  const tokens = text.replace(/;;[^\n]*/g, ' ').match(/\(|\)|"[^"]*"|[^\s()]+/g);
  let at = 0;
  const node = () => {
    if (tokens[at] !== '(') return tokens[at++];
    at++;
    const list = [];
    while (tokens[at] !== ')') list.push(node());
    at++;
    return list;
  };
  const all = [];
  while (at < tokens.length) all.push(node());
  return all;
}
const print = (n) => (Array.isArray(n) ? `(${n.map(print).join(' ')})` : n);

/**
 * (f32x4.add S (f32x4.mul X Y)) with S a local or a load, a running sum,
 * becomes (f32x4.relaxed_madd X Y S): the same sum, the product not rounded
 * where the engine fuses. Returns the tree and how many were turned.
 */
function fuse(n) {
  if (!Array.isArray(n)) return [n, 0];
  let count = 0;
  const kids = n.map((k) => {
    const [t, c] = fuse(k);
    count += c;
    return t;
  });
  const [op, sum, product] = kids;
  if (
    op === 'f32x4.add' &&
    kids.length === 3 &&
    Array.isArray(sum) &&
    (sum[0] === 'local.get' || sum[0] === 'v128.load') &&
    Array.isArray(product) &&
    product[0] === 'f32x4.mul' &&
    product.length === 3
  ) {
    return [['f32x4.relaxed_madd', product[1], product[2], sum], count + 1];
  }
  return [kids, count];
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const source = readFileSync(join(dir, file), 'utf8');
  const { base64, flagAt, size } = binary(file, source);
  let relaxed = '';
  if (RELAXED.has(file)) {
    const [tree, count] = fuse(parse(source));
    if (count === 0) throw new Error(`${file}: no multiply-add to turn into relaxed_madd`);
    const r = binary(file, tree.map(print).join('\n'));
    relaxed =
      `/** The same with every multiply-add of a sum one f32x4.relaxed_madd (${count} of them), for engines with relaxed SIMD. */\n` +
      `export const relaxed =\n  '${r.base64}';\nexport const relaxedFlagAt = ${r.flagAt};\n`;
  }
  const out = join(dir, file.replace(/\.wat$/, '.wasm.ts'));
  const text = `// Assembled from ${file} by scripts/build-wasm.mjs: edit the .wat, then run it.\nexport const bytes =\n  '${base64}';\n/** The byte of the memory import's limits flag (0x03, shared; see kernels/memory.ts). */\nexport const flagAt = ${flagAt};\n${relaxed}`;
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {}
  if (current !== text) {
    stale++;
    if (!check) writeFileSync(out, text);
  }
  console.log(
    `${file}: ${size} bytes${current === text ? '' : check ? ' (out of date)' : ' (written)'}`,
  );
}
if (check && stale > 0) process.exit(1);
