// Peak memory of training on full MNIST: the CNN of the conv issue (the
// example, and the same network as a user writes it: fit compiled, fit eager,
// a compiled loop of one's own) against 400 MB, and the 784-16-16-10 app's
// two recipes against 300 MB with the RSS over the run (it should stay flat).
// Each case is its own process; RSS is the whole process, sampled every
// 200 ms by lib/rss-probe.mjs, the peak from the kernel (maxRSS).
//   node bench/memory.mjs [--data DIR] [--cases LIST] [--epochs N] [--limit N] [--mlp-epochs N]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const probe = pathToFileURL(join(here, 'lib', 'rss-probe.mjs')).href;
const CNN_LIMIT = 400;
const MLP_LIMIT = 300;

const { values: flag } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    data: { type: 'string' },
    cases: { type: 'string' },
    epochs: { type: 'string', default: '1' },
    limit: { type: 'string' },
    'mlp-epochs': { type: 'string', default: '20' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const CASES = {
  'cnn-example': {
    limit: CNN_LIMIT,
    what: 'examples/src/cnn.ts: spec-built CNN, fit compiled, checkpoint, reload, resume 1 epoch twice',
    cwd: join(repo, 'examples'),
    args: (o) => [
      '--import',
      'tsx',
      'src/cnn.ts',
      '--data',
      o.data,
      '--epochs',
      o.epochs,
      '--out',
      join(o.tmp, 'cnn.safetensors'),
      ...(o.limit ? ['--limit', o.limit] : []),
    ],
  },
  ...Object.fromEntries(
    [
      ['cnn-fit', 'fit', 'the CNN from nn layers, fit (compiled), validation every epoch'],
      ['cnn-eager', 'eager', 'the same, fit with compile: false'],
      ['cnn-loop', 'loop', 'the same, a compiled step in a loop of its own, evaluate every epoch'],
    ].map(([name, mode, what]) => [
      name,
      {
        limit: CNN_LIMIT,
        what,
        cwd: here,
        args: (o) => [
          'impl/memory-cnn.mjs',
          '--data',
          o.data,
          '--mode',
          mode,
          '--epochs',
          o.epochs,
          ...(o.limit ? ['--limit', o.limit] : []),
        ],
      },
    ]),
  ),
  ...Object.fromEntries(
    ['modern', 'classic'].map((recipe) => [
      `mlp-${recipe}`,
      {
        limit: MLP_LIMIT,
        what: `the app: mnist-mlp train --recipe ${recipe}`,
        cwd: repo,
        args: (o) => [
          'apps/mnist-mlp/dist/cli.js',
          'train',
          '--recipe',
          recipe,
          '--data',
          o.data,
          '--epochs',
          o.mlpEpochs,
          '--out',
          join(o.tmp, `mlp-${recipe}.safetensors`),
        ],
      },
    ]),
  ),
};
if (flag.help) {
  console.log(
    'node bench/memory.mjs [--data DIR] [--cases LIST] [--epochs N] [--limit N] [--mlp-epochs N]\n\n' +
      Object.entries(CASES)
        .map(([k, c]) => `  ${k.padEnd(12)} ${c.what} (limit ${c.limit} MB)`)
        .join('\n') +
      "\n\n--epochs and --limit (the first N training images) are the CNN cases', --mlp-epochs the app's (default 20).",
  );
  process.exit(0);
}
const data = resolve(flag.data ?? join(repo, '..', 'shared', 'datasets', 'mnist'));
if (!existsSync(data)) {
  throw new Error(`--data ${data}: no such folder (give a folder of the four MNIST IDX files)`);
}
const names = flag.cases ? flag.cases.split(',').map((s) => s.trim()) : Object.keys(CASES);
for (const n of names) {
  if (!CASES[n]) throw new Error(`--cases: '${n}' is not among ${Object.keys(CASES).join(', ')}`);
}
const tmp = mkdtempSync(join(tmpdir(), 'neurite-memory-'));
const options = {
  data,
  epochs: flag.epochs,
  limit: flag.limit,
  mlpEpochs: flag['mlp-epochs'],
  tmp,
};
const mb = (bytes) => Math.round(bytes / 1048576);
const rows = [];
try {
  for (const name of names) {
    const c = CASES[name];
    const out = join(tmp, `${name}.json`);
    const args = ['--import', probe, ...c.args(options)];
    const run = spawnSync(process.execPath, args, {
      cwd: c.cwd,
      env: { ...process.env, NEURITE_RSS_OUT: out },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (run.status !== 0 || !existsSync(out)) {
      throw new Error(`${name} failed (exit ${run.status}): ${run.stderr.slice(-2000)}`);
    }
    const { peakRss, samples } = JSON.parse(readFileSync(out, 'utf8'));
    // RSS at each quarter of the run: flat means the last is not above the first.
    const end = samples.at(-1)[0];
    const at = (f) => mb(samples.findLast(([t]) => t <= f * end)[1]);
    const row = {
      case: name,
      command: `node ${args.slice(2).join(' ')}`.replaceAll(tmp, '$TMP'),
      cwd: c.cwd,
      peak_rss_mb: mb(peakRss),
      limit_mb: c.limit,
      within: peakRss / 1048576 < c.limit,
      rss_mb_at_quarters: [at(0.25), at(0.5), at(0.75), at(1)],
      seconds: Math.round(end / 1000),
      last_line: run.stdout.trim().split('\n').at(-1),
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(
  `\n${'case'.padEnd(12)} ${'peak MB'.padStart(8)} ${'limit'.padStart(6)}  RSS at ¼ ½ ¾ end (MB)`,
);
for (const r of rows) {
  console.log(
    `${r.case.padEnd(12)} ${String(r.peak_rss_mb).padStart(8)} ${String(r.limit_mb).padStart(6)}  ${r.rss_mb_at_quarters.join(' ')}${r.within ? '' : '  OVER'}`,
  );
}
