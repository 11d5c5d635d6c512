#!/usr/bin/env node
// What a browser bundle is made of: the bundle the packaging test's size budgets measure
// (esbuild, minified, ESM, platform browser; gzip level 9) of `export * from '<package>'`,
// built from the workspace's dist folders (run `pnpm build` first), with its gzipped bytes
// shared out among the source files they come from.
//
//   node tests/packaging/composition.mjs [@neurite/nn] [--files] [--shared]
//
// --shared leaves @neurite/tensor out, as the budgets of data and onnx do.
// Each source file is charged what its bytes add to the gzipped size where they stand in the
// bundle (the gzip of the bundle up to the end of a 2 KB stretch, less the gzip up to its
// start, split by bytes among the files in the stretch), so the parts add up to the total.
// Without --files, files are summed per package (and per folder of a neurite package).

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const name = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '@neurite/nn';
const perFile = process.argv.includes('--files');
const external = process.argv.includes('--shared') ? ['@neurite/tensor'] : [];

const result = await build({
  stdin: { contents: `export * from '${name}';`, resolveDir: here, loader: 'js' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  external,
  write: false,
  logLevel: 'silent',
  sourcemap: 'external',
  outfile: join(here, 'composition-out.js'),
});
const js = result.outputFiles.find((f) => f.path.endsWith('.js')).contents;
const map = JSON.parse(result.outputFiles.find((f) => f.path.endsWith('.map')).text);

/** Source-map mappings: for each generated line, [column, source index] of each segment. */
function decode(mappings) {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lines = [];
  let source = 0;
  for (const line of mappings.split(';')) {
    const segments = [];
    let column = 0;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const c of segment) {
        const d = digits.indexOf(c);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0];
      if (fields.length > 1) {
        source += fields[1];
        segments.push([column, source]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

// The source of every byte of the bundle: that of the nearest mapping before it.
const owner = new Int32Array(js.length).fill(-1);
const marks = [];
let lineStart = 0;
decode(map.mappings).forEach((segments) => {
  for (const [column, source] of segments) marks.push([lineStart + column, source]);
  const next = js.indexOf(10, lineStart);
  lineStart = next < 0 ? js.length : next + 1;
});
marks.sort((a, b) => a[0] - b[0]);
for (let i = 0; i < marks.length; i++) {
  owner.fill(marks[i][1], marks[i][0], marks[i + 1]?.[0] ?? js.length);
}

const gzipped = (end) => gzipSync(js.subarray(0, end), { level: 9 }).length;
const charged = new Map();
let start = 0;
let before = 0;
while (start < js.length) {
  const end = Math.min(js.length, start + 2048);
  const after = gzipped(end);
  const counts = new Map();
  for (let i = start; i < end; i++) counts.set(owner[i], (counts.get(owner[i]) ?? 0) + 1);
  for (const [source, n] of counts) {
    charged.set(source, (charged.get(source) ?? 0) + ((after - before) * n) / (end - start));
  }
  start = end;
  before = after;
}

/** `valibot`, `@neurite/tensor`, or `nn: optim` for a file of a neurite package's src/optim. */
function partOf(source) {
  if (source < 0) return '(no source)';
  const path = map.sources[source];
  const neurite = path.match(/packages\/([^/]+)\/src\/(?:([^/]+)\/)?/);
  if (neurite) return neurite[2] ? `${neurite[1]}: ${neurite[2]}/` : `${neurite[1]}: src/`;
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/);
  return pkg ? pkg[1] : path;
}
const label = (source) =>
  perFile
    ? source < 0
      ? '(no source)'
      : map.sources[source].replace(/^(\.\.\/)+/, '')
    : partOf(source);
const totals = new Map();
for (const [source, bytes] of charged) {
  totals.set(label(source), (totals.get(label(source)) ?? 0) + bytes);
}

const kb = (n) => (n / 1024).toFixed(1).padStart(6);
console.log(
  `export * from '${name}': ${kb(gzipped(js.length))} KB min+gzip (${kb(js.length)} KB min)`,
);
for (const [part, bytes] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`${kb(bytes)} KB  ${part}`);
}
