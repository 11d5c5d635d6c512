// Builds the package in the current directory into dist/: ES modules and CommonJS, each
// with its declarations. The shipped JavaScript carries no comments (the TSDoc lives in the
// .d.ts files, where editors read it), which keeps installs small: the CommonJS build
// doubles what a package ships.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(...args) {
  const result = spawnSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// A file removed from src must not linger in a tarball.
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  run('-p', project, '--removeComments', '--declaration', 'false', '--declarationMap', 'false');
  run('-p', project, '--emitDeclarationOnly');
}
// The package is "type": "module"; without this Node would load dist/cjs as ES modules.
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
