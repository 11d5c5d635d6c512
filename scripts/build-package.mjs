// Builds the package in the current directory into dist/: ES modules and CommonJS, each
// with its declarations. The shipped JavaScript carries no comments (the TSDoc lives in the
// .d.ts files, where editors read it), which keeps installs small: the CommonJS build
// doubles what a package ships.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(...args) {
  const result = spawnSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// A package with one entry point ships its CommonJS code as one file, bundled from the ES
// build: a module per file costs each its own require and export wrappers (for
// @neurite/tensor, a third more bytes). Its dependencies stay require()s of their packages.
// With a second entry (/node), shared modules would be copied into each bundle, giving two
// copies of a class, so those keep tsc's module per file.
const entries = Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).exports ?? {});
const bundled = entries.filter((entry) => entry !== './package.json').length === 1;

// A file removed from src must not linger in a tarball.
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  if (!(bundled && project === 'tsconfig.cjs.json')) {
    run('-p', project, '--removeComments', '--declaration', 'false', '--declarationMap', 'false');
  }
  run('-p', project, '--emitDeclarationOnly');
}
// The package is "type": "module"; without this Node would load dist/cjs as ES modules.
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
if (bundled) {
  await build({
    entryPoints: ['dist/index.js'],
    outfile: 'dist/cjs/index.js',
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    target: 'es2022',
    packages: 'external',
    logLevel: 'warning',
  });
}
