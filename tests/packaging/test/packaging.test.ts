import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a user of the registry gets: `pnpm pack` each publishable package, install the
// tarballs with plain npm into a project outside the workspace, and use them from an
// .mjs file and from a .ts file checked by the user's own tsc.

const workspaceRoot = fileURLToPath(new URL('../../../', import.meta.url));
const consumerSources = fileURLToPath(new URL('../consumer/', import.meta.url));
const typescriptVersion = '5.9.3';

const published = [
  { name: '@neurite/tensor', dir: 'packages/tensor' },
  { name: '@neurite/nn', dir: 'packages/nn' },
  { name: '@neurite/data', dir: 'packages/data' },
  { name: '@neurite/onnx', dir: 'packages/onnx' },
  { name: '@neurite/mnist-embedded', dir: 'packages/mnist-embedded' },
] as const;

interface ReadmeExample {
  heading: string;
  file: string;
  code: string;
}

/** Every ```ts block of the README, named after the heading it sits under. */
function readmeExamplesOf(markdown: string, prefix = 'readme'): ReadmeExample[] {
  const examples: ReadmeExample[] = [];
  let heading = '';
  let fence: { lang: string; lines: string[] } | null = null;
  for (const line of markdown.split('\n')) {
    if (!fence) {
      if (line.startsWith('```')) fence = { lang: line.slice(3).trim(), lines: [] };
      else if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '');
    } else if (!line.startsWith('```')) fence.lines.push(line);
    else {
      if (fence.lang === 'ts') {
        const file = `${prefix}-${examples.length + 1}.ts`;
        examples.push({ heading, file, code: fence.lines.join('\n') });
      }
      fence = null;
    }
  }
  return examples;
}

// The repository's README, and the README of each package that has runnable examples of its own.
const readmeExamples = [
  ...readmeExamplesOf(readFileSync(join(workspaceRoot, 'README.md'), 'utf8')),
  ...readmeExamplesOf(
    readFileSync(join(workspaceRoot, 'packages/onnx/README.md'), 'utf8'),
    'onnx-readme',
  ).map((e) => ({ ...e, heading: `@neurite/onnx README: ${e.heading}` })),
  // Its ```typescript blocks are fragments (file paths, a user's own class); only ```ts ones run.
  ...readmeExamplesOf(
    readFileSync(join(workspaceRoot, 'packages/nn/README.md'), 'utf8'),
    'nn-readme',
  ).map((e) => ({ ...e, heading: `@neurite/nn README: ${e.heading}` })),
];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Manifest {
  name: string;
  version: string;
  type?: string;
  sideEffects?: unknown;
  files?: string[];
  exports?: Record<string, string | Record<string, string | Record<string, string>>>;
  license?: string;
  homepage?: string;
  repository?: { url?: string };
  bugs?: { url?: string };
  keywords?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Packed {
  name: string;
  tarball: string;
  files: string[];
  manifest: Manifest;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr });
      const code = typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr: `${stderr}\n${error.message}` });
    });
  });
}

async function succeed(what: string, pending: Promise<Result>): Promise<Result> {
  const result = await pending;
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

// The pnpm that runs this test, so packing uses the workspace's pinned version.
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/.test(execpath)) {
    return /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []];
  }
  return ['pnpm', []];
}

// A user's shell: none of the variables pnpm and vitest set for this run, and no
// workspace binaries on PATH, so npm and tsc behave as they would for anyone.
function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) || key.startsWith('VITEST') || key === 'NODE_ENV') continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => entry !== '' && !entry.startsWith(workspaceRoot) && !entry.startsWith('.'))
    .join(delimiter);
  return env;
}

async function pack(name: string, dir: string, destination: string): Promise<Packed> {
  const [pnpm, prefix] = pnpmCommand();
  const packed = await succeed(
    `pnpm pack (${name})`,
    run(
      pnpm,
      [...prefix, 'pack', '--json', '--pack-destination', destination],
      join(workspaceRoot, dir),
    ),
  );
  const report = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] };
  const manifest = await succeed(
    `tar (${name})`,
    run('tar', ['-xzOf', report.filename, 'package/package.json'], destination),
  );
  return {
    name,
    tarball: report.filename,
    files: report.files.map((f) => f.path),
    manifest: JSON.parse(manifest.stdout) as Manifest,
  };
}

let workdir = '';
let app = '';
const packs = new Map<string, Packed>();
const env = userEnvironment();

beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'neurite-packaging-'));
  const tarballs = join(workdir, 'tarballs');
  app = join(workdir, 'app');
  await mkdir(tarballs);
  await cp(consumerSources, app, { recursive: true });
  await writeFile(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'neurite-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  for (const { file, code } of readmeExamples) await writeFile(join(app, file), code);
  for (const { name, dir } of published) packs.set(name, await pack(name, dir, tarballs));
  const specs = [...packs.values()].map((p) => p.tarball);
  await succeed(
    'npm install',
    run(
      'npm',
      ['install', '--no-audit', '--no-fund', ...specs, `typescript@${typescriptVersion}`],
      app,
      env,
    ),
  );
});

afterAll(async () => {
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

function tsc(): string {
  return join(app, 'node_modules', 'typescript', 'bin', 'tsc');
}

function packed(name: string): Packed {
  const p = packs.get(name);
  if (!p) throw new Error(`${name} was not packed`);
  return p;
}

describe.each(published)('$name tarball', ({ name }) => {
  it('ships every export target for import and require, each with its declarations', () => {
    const { manifest, files } = packed(name);
    const entries = Object.entries(manifest.exports ?? {});
    expect(entries.length, 'exports').toBeGreaterThan(0);
    expect(manifest.exports?.['.'], 'exports["."]').toBeDefined();
    expect(manifest.exports?.['./package.json'], 'exports["./package.json"]').toBe(
      './package.json',
    );
    for (const [subpath, conditions] of entries) {
      if (typeof conditions === 'string') continue;
      for (const [condition, format] of [
        ['import', /^\.\/dist\/[^/]+\.js$/],
        ['require', /^\.\/dist\/cjs\/[^/]+\.js$/],
      ] as const) {
        const target = conditions[condition];
        expect(typeof target, `exports["${subpath}"].${condition}`).toBe('object');
        if (typeof target !== 'object') continue;
        // TypeScript takes the first condition that matches: "types" must precede "default".
        expect(Object.keys(target), `exports["${subpath}"].${condition}`).toEqual([
          'types',
          'default',
        ]);
        expect(target.types).toMatch(/\.d\.ts$/);
        expect(target.default).toMatch(format);
        for (const file of Object.values(target)) {
          expect(files, `exports["${subpath}"].${condition}`).toContain(file.replace(/^\.\//, ''));
        }
      }
    }
    // Node loads dist/cjs/*.js as CommonJS only because this file says so.
    expect(files).toContain('dist/cjs/package.json');
  });

  it('resolves in every TypeScript module mode (arethetypeswrong) and lints clean (publint)', async () => {
    const { tarball } = packed(name);
    const bin = (tool: string) => join(workspaceRoot, 'tests/packaging/node_modules/.bin', tool);
    const attw = await run(bin('attw'), [tarball, '--format', 'ascii'], workspaceRoot);
    expect(attw.stdout + attw.stderr, 'attw').toMatch(/No problems found/);
    expect(attw.code, 'attw exit code').toBe(0);
    const publint = await run(bin('publint'), [tarball, '--strict'], workspaceRoot);
    expect(publint.stdout + publint.stderr, 'publint').toMatch(/All good!/);
  });

  it('ships the LICENSE and says where the project lives', () => {
    const { manifest, files } = packed(name);
    expect(files).toContain('LICENSE');
    expect(manifest.license).toBe('MIT');
    expect(manifest.repository?.url).toMatch(/^git\+https:\/\//);
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.bugs?.url).toMatch(/^https:\/\//);
    expect(manifest.keywords?.length ?? 0).toBeGreaterThan(0);
  });

  it('has a manifest a registry user can install', () => {
    const { manifest, files } = packed(name);
    expect(manifest.type).toBe('module');
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(manifest.files?.length ?? 0, 'files').toBeGreaterThan(0);
    const fields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;
    for (const field of fields) {
      for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
        expect(range, `${field}["${dependency}"]`).not.toMatch(/^workspace:/);
        const sibling = packs.get(dependency);
        if (sibling)
          expect(range, `${field}["${dependency}"]`).toBe(`^${sibling.manifest.version}`);
      }
    }
    const stray = files.filter((f) => /^(test|bench)\/|tsconfig|vitest|\.tsbuildinfo$/.test(f));
    expect(stray, 'files that do not belong in the tarball').toEqual([]);
  });
});

describe('a fresh npm project using the tarballs', () => {
  it('installed every @neurite package from its tarball, none from the registry', async () => {
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; version?: string }>;
    };
    const ours = Object.entries(lock.packages).filter(([path]) =>
      /node_modules\/@neurite\//.test(path),
    );
    expect(ours.map(([path]) => path).sort()).toEqual(
      published.map((p) => `node_modules/${p.name}`).sort(),
    );
    for (const [path, entry] of ours) expect(entry.resolved, path).toMatch(/^file:/);
  });

  it('runs the .mjs consumer', async () => {
    const result = await run(process.execPath, ['consumer.mjs'], app, env);
    expect(result.stderr.trim(), 'stderr').toBe('');
    expect(result.code).toBe(0);
    for (const { name } of published) expect(result.stdout).toContain(`ok ${name}`);
  });

  it('runs the .cjs consumer, which require()s every entry point', async () => {
    const result = await run(process.execPath, ['consumer.cjs'], app, env);
    expect(result.stderr.trim(), 'stderr').toBe('');
    expect(result.code).toBe(0);
    for (const { name } of published) expect(result.stdout).toContain(`ok ${name}`);
  });

  it('has a README example for every package', () => {
    const headings = readmeExamples.map((e) => e.heading);
    for (const { name } of published) expect(headings).toContain(`\`${name}\``);
    expect(headings.filter((h) => h.startsWith('@neurite/onnx README'))).not.toEqual([]);
  });

  it('type-checks consumer.ts and the README examples with tsc', async () => {
    const version = await run(process.execPath, [tsc(), '--version'], app, env);
    expect(version.stdout.trim()).toBe(`Version ${typescriptVersion}`);
    const checked = await run(process.execPath, [tsc(), '-p', 'tsconfig.json'], app, env);
    expect(checked.stdout + checked.stderr, 'tsc diagnostics').toBe('');
    expect(checked.code).toBe(0);
  });

  it('runs the compiled consumer.ts', async () => {
    const result = await run(process.execPath, [join('out', 'consumer.js')], app, env);
    expect(result.stderr.trim(), 'stderr').toBe('');
    expect(result.code).toBe(0);
    for (const { name } of published) expect(result.stdout).toContain(`ok ${name}`);
  });

  it.each(readmeExamples.map((e) => [e.heading.replaceAll('`', ''), e.file]))(
    'runs the compiled README example under "%s"',
    async (_heading, file) => {
      const result = await run(
        process.execPath,
        [join('out', file.replace(/\.ts$/, '.js'))],
        app,
        env,
      );
      expect(result.stderr.trim(), 'stderr').toBe('');
      expect(result.code).toBe(0);
    },
  );
});

/** A browser bundle of `code` as the installed packages resolve it: minified and gzipped bytes. */
async function bundled(code: string, external: string[] = []): Promise<number> {
  const result = await build({
    stdin: { contents: code, resolveDir: app, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    external,
    write: false,
    logLevel: 'silent',
  });
  return gzipSync(result.outputFiles[0]!.contents, { level: 9 }).length;
}

/** Everything under `dir`, in bytes, as a disk-usage tool adds up file sizes. */
async function bytesUnder(dir: string): Promise<number> {
  const { readdir, stat } = await import('node:fs/promises');
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

// Budgets in KB of minified and gzipped browser bundles of the packed builds. The targets
// are tensor ≤ 20 and nn with tensor ≤ 40; until those are reached, these budgets stop the
// sizes from running away. tensor's is its size (54.7 with the row chains of compiled plans,
// 2.4 KB, the batch gather, the softmax rows' exp kernel, 1.4 KB, the fused loops' pairs of
// vectors, held constants and remembered arrays, 0.5 KB, column sums, 0.1 KB, and the softmax
// rows' shifts two at a time, 0.2 KB) and under 1 KB of room; nn's is its size with tensor
// (80.4) and under 1 KB.
// `node tests/packaging/composition.mjs @neurite/nn` shows what a bundle is made of.
const budgets = [
  { what: '@neurite/tensor', code: "export * from '@neurite/tensor';", kb: 54.9 },
  { what: '@neurite/nn with tensor', code: "export * from '@neurite/nn';", kb: 80.6 },
  {
    what: '@neurite/data (tensor shared)',
    code: "export * from '@neurite/data';",
    external: ['@neurite/tensor'],
    kb: 20,
  },
  {
    what: '@neurite/onnx (tensor shared)',
    code: "export * from '@neurite/onnx';",
    external: ['@neurite/tensor'],
    kb: 30,
  },
];

// Node 20 is the machine's; the packages must also load on the next LTS, fetched as the
// `node` package from the npm registry (its binary comes as a registry package too).
const otherNode = '22';

describe(`on Node ${otherNode}`, () => {
  let node = '';

  beforeAll(async () => {
    const dir = join(workdir, `node${otherNode}`);
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), '{ "name": "other-node", "private": true }\n');
    await succeed(
      `npm install node@${otherNode}`,
      run('npm', ['install', '--no-audit', '--no-fund', `node@${otherNode}`], dir, env),
    );
    node = join(dir, 'node_modules', '.bin', 'node');
  }, 600_000);

  it('is that version', async () => {
    const version = await succeed('node --version', run(node, ['--version'], app, env));
    expect(version.stdout.trim()).toMatch(new RegExp(`^v${otherNode}\\.`));
  });

  it.each([
    ['the .mjs consumer (import)', 'consumer.mjs'],
    ['the .cjs consumer (require)', 'consumer.cjs'],
    ['the compiled consumer.ts', join('out', 'consumer.js')],
  ])('runs %s', async (_what, file) => {
    const result = await run(node, [file], app, env);
    expect(result.stderr.trim(), 'stderr').toBe('');
    expect(result.code).toBe(0);
    for (const { name } of published) expect(result.stdout).toContain(`ok ${name}`);
  });
});

describe('sizes', () => {
  it.each(budgets)('$what bundles within $kb KB min+gzip', async ({ code, external, kb }) => {
    const size = await bundled(code, external);
    console.log(`${code} ${(size / 1024).toFixed(1)} KB min+gzip`);
    expect(size / 1024).toBeLessThanOrEqual(kb);
  });

  it('installing @neurite/data from its tarball adds at most 2 MB', async () => {
    const lone = join(workdir, 'data-only');
    await mkdir(lone);
    await writeFile(join(lone, 'package.json'), '{ "name": "data-only", "private": true }\n');
    const tarballs = ['@neurite/tensor', '@neurite/data'].map((n) => packed(n).tarball);
    await succeed(
      'npm install (data only)',
      run('npm', ['install', '--no-audit', '--no-fund', ...tarballs], lone, env),
    );
    const size = await bytesUnder(join(lone, 'node_modules'));
    console.log(`npm install @neurite/data: ${size} bytes`);
    expect(size).toBeLessThanOrEqual(2e6);
  });
});
