// Runs every implementation on the same data in the same batch order, each in
// its own process, prints one JSON line per result as it arrives (with ratios
// against the reference implementations) and ends with a summary table.
// Usage and how to read the output: README.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findIdx, hasMnist, MNIST_FILES, readIdx } from './lib/idx.mjs';
import { ensureSyntheticMnist } from './lib/synthetic.mjs';
import { summaryTable } from './lib/table.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** In running order: the references first, so later lines can carry ratios against them. */
const IMPLS = [
  'pytorch',
  'tfjs-wasm',
  'numpy',
  'tfjs-cpu',
  'neurite-eager',
  'neurite-compiled',
  'neurite-fit',
];
const RECIPES = ['modern', 'classic', 'inference', 'cnn'];
const BATCH = { modern: 64, classic: 10, inference: 1000, cnn: 64 };
const REFERENCES = ['pytorch', 'tfjs-wasm'];
/**
 * Matrix-product FLOPs per sample (multiply and add counted apart), the work
 * any implementation must do: forward, weight gradients and the input
 * gradients of every layer but the first. 784-16-16-10: forward
 * 2·(784·16 + 16·16 + 16·10) = 25,920; training 52,672. Small CNN: conv1
 * 2·(8·24·24)·25 = 230,400, conv2 2·(16·8·8)·(8·25) = 409,600, dense
 * 2·256·10 = 5,120; training = 2 × forward + conv2 and dense input gradients.
 */
const FLOPS_PER_SAMPLE = {
  modern: 52672,
  classic: 52672,
  inference: 25920,
  cnn: 2 * (230400 + 409600 + 5120) + 409600 + 5120,
};
/** Implementations not run on a recipe unless --only names them, and why. */
const NOT_BY_DEFAULT = {
  cnn: {
    'tfjs-cpu': 'the pure-JS backend needs minutes per CNN epoch: ask for it with --only',
  },
};
const HEADLINE = 'neurite-compiled';
/** Busy fraction of all cores (from other processes) under which the machine counts as quiet. */
const QUIET = 0.25;

const USAGE = `pnpm bench [-- options]        (or: node bench/run.mjs [options])

  --only LIST        implementations, comma-separated: ${IMPLS.join(',')}
  --recipes LIST     ${RECIPES.join(',')} (default: all four)
  --epochs N         timed epochs per training run; the median is reported (default 3)
  --quick            smoke run: ~5,000 samples per epoch, short warm-up
  --warmup N         warm-up batches before timing (default 300; inference: passes, default 3)
  --soak N           train for N epochs printing RSS after each (neurite-compiled, else eager)
  --seed N           seed of the shared batch order and of every model's init (default 1)
  --data DIR         MNIST folder (default <repo>/../shared/datasets/mnist; synthetic if absent)
  --settle S         before each run, wait up to S seconds for other work on the machine to stop (default 60)
  --torch-threads L  thread counts PyTorch is run at, comma-separated; the fastest is reported (default 1,2)
  --threads N        threads neurite's kernels run on (setThreads; default: every core)
  --python PATH      the Python with torch and numpy (default: the first of /usr/bin/python3, python3 that imports it)
  -h, --help         this text`;

function parseOptions() {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      only: { type: 'string' },
      recipes: { type: 'string' },
      epochs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      soak: { type: 'string' },
      seed: { type: 'string', default: '1' },
      data: { type: 'string' },
      settle: { type: 'string', default: '60' },
      'torch-threads': { type: 'string', default: '1,2' },
      threads: { type: 'string' },
      python: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (name, value, allowed) => {
    if (value === undefined) return allowed;
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((s) => !allowed.includes(s));
    if (bad.length || items.length === 0) {
      throw new Error(`--${name}: '${bad.join(',') || value}' is not among ${allowed.join(', ')}`);
    }
    return allowed.filter((s) => items.includes(s));
  };
  const whole = (name, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name}: '${value}' is not a whole number ≥ ${min}`);
    return n;
  };
  const positive = (name, value) => whole(name, value, 1);
  return {
    impls: list('only', values.only, IMPLS),
    onlyGiven: values.only !== undefined,
    recipes: list('recipes', values.recipes, RECIPES),
    epochs: positive('epochs', values.epochs),
    quick: values.quick,
    warmup: values.warmup === undefined ? undefined : String(whole('warmup', values.warmup, 0)),
    soak: values.soak === undefined ? undefined : positive('soak', values.soak),
    seed: whole('seed', values.seed, 0),
    data: values.data,
    settle: whole('settle', values.settle, 0),
    torchThreads: [
      ...new Set(
        values['torch-threads'].split(',').map((t) => positive('torch-threads', t.trim())),
      ),
    ],
    threads: values.threads === undefined ? undefined : positive('threads', values.threads),
    python: values.python,
  };
}

/** The first Python that can import `module`, or undefined. */
function findPython(explicit, module) {
  const candidates = explicit ? [explicit] : [process.env.PYTHON, '/usr/bin/python3', 'python3'];
  for (const python of candidates.filter(Boolean)) {
    const probe = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/** Fraction of all cores busy over a short window: other work on the machine skews timings. */
async function hostBusy(ms = 500) {
  const sample = () => {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = sample();
    await new Promise((r) => setTimeout(r, ms));
    const b = sample();
    return Math.round((1 - (b.idle - a.idle) / Math.max(1, b.total - a.total)) * 100) / 100;
  } catch {
    return undefined;
  }
}

/** Waits (up to `seconds`) for the machine to go quiet; returns how busy it was when we went on. */
async function settle(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let busy = await hostBusy();
  while (busy !== undefined && busy > QUIET && Date.now() < deadline) busy = await hostBusy(1000);
  return busy;
}

function command(impl, pythons) {
  const node = (script, ...extra) => [process.execPath, [join(here, 'impl', script), ...extra]];
  switch (impl) {
    case 'pytorch':
      return [pythons.torch, [join(here, 'impl', 'pytorch.py')]];
    case 'numpy':
      return [pythons.numpy, [join(here, 'impl', 'numpy_mlp.py')]];
    case 'tfjs-cpu':
      return node('tfjs.mjs', '--backend', 'cpu');
    case 'tfjs-wasm':
      return node('tfjs.mjs', '--backend', 'wasm');
    case 'neurite-eager':
      return node('neurite.mjs', '--mode', 'eager');
    case 'neurite-compiled':
      return node('neurite.mjs', '--mode', 'compiled');
    case 'neurite-fit':
      return node('neurite.mjs', '--mode', 'fit');
    default:
      throw new Error(`unknown implementation ${impl}`);
  }
}

/**
 * Runs one child; `onLine` gets each JSON line it prints. Resolves to its exit code.
 * Peers run with their defaults (PyTorch's OpenMP wait policy included): a busy
 * machine is waited out by `settle`, not evened out by slowing a peer down.
 */
function runChild(cmd, args, onLine, extraEnv = {}) {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ...extraEnv };
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (text) => {
      if (text.startsWith('{')) {
        try {
          onLine(JSON.parse(text));
          return;
        } catch {
          // not JSON after all: pass it on as text
        }
      }
      process.stderr.write(`${text}\n`);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(signal ? `signal ${signal}` : code));
  });
}

const round3 = (x) => Number(x.toPrecision(3));

async function main() {
  const options = parseOptions();
  const print = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);
  let Rng;
  try {
    ({ Rng } = await import('@neurite/tensor'));
  } catch (error) {
    throw new Error(
      `@neurite/tensor is not built (run pnpm build, or pnpm bench which builds first): ${error.message}`,
    );
  }

  // Data: full MNIST when present, else a synthetic set of the same shape, said loudly.
  const mnistDir = options.data ?? resolve(here, '..', '..', 'shared', 'datasets', 'mnist');
  let dataDir = mnistDir;
  let dataKind = 'mnist';
  if (!hasMnist(mnistDir)) {
    if (options.data)
      throw new Error(`--data ${options.data}: the four MNIST IDX files are not all there`);
    dataKind = 'synthetic';
    process.stderr.write(
      `MNIST not found at ${mnistDir}: using a synthetic 60,000×784 uint8 set with ~80% zeros instead\n`,
    );
    dataDir = ensureSyntheticMnist(tmpdir(), options.seed, Rng);
  }
  const trainN = readIdx(findIdx(dataDir, MNIST_FILES.trainLabels)).dims[0];

  // One batch order for everyone: permutation 0 for warm-up, 1..E for the timed epochs.
  const work = mkdtempSync(join(tmpdir(), 'neurite-bench-'));
  const permPath = join(work, 'permutations.i32');
  const permCount = (options.soak ?? options.epochs) + 1;
  const perms = new Int32Array(trainN * permCount);
  const rng = new Rng(options.seed);
  for (let p = 0; p < permCount; p++) {
    const order = perms.subarray(p * trainN, (p + 1) * trainN);
    for (let i = 0; i < trainN; i++) order[i] = i;
    rng.shuffle(order);
  }
  writeFileSync(permPath, new Uint8Array(perms.buffer));

  const pythons = {
    torch: options.impls.includes('pytorch') ? findPython(options.python, 'torch') : undefined,
    numpy: findPython(options.python, 'numpy'),
  };
  const common = [
    '--perm',
    permPath,
    '--data',
    dataDir,
    '--data-kind',
    dataKind,
    '--seed',
    String(options.seed),
    '--epochs',
    String(options.epochs),
    ...(options.quick ? ['--quick'] : []),
    ...(options.warmup !== undefined ? ['--warmup', options.warmup] : []),
  ];
  const implArgs = (impl, recipe, threads) => [
    ...command(impl, pythons)[1],
    '--recipe',
    recipe,
    '--batch',
    String(BATCH[recipe]),
    ...common,
    ...(impl === 'pytorch' ? ['--threads', String(threads)] : []),
    ...(impl.startsWith('neurite') && options.threads !== undefined
      ? ['--threads', String(options.threads)]
      : []),
  ];
  process.stderr.write(
    `neurite bench: data=${dataKind} (${dataDir}), epochs=${options.epochs}${options.quick ? ' (quick)' : ''}, ` +
      `seed=${options.seed}, node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}` +
      `${pythons.torch ? `, python ${pythons.torch}` : ''}\n`,
  );

  try {
    if (options.soak !== undefined) {
      await soak(options, implArgs, pythons, print);
      return;
    }
    const peak = pythons.numpy ? await measurePeak(pythons.numpy, options.settle) : undefined;
    if (peak) print(peak);
    const results = [];
    const pytorchThreads = [];
    for (const recipe of options.recipes) {
      const done = new Map();
      if (peak?.gflops_all_cores) {
        const limit = {
          impl: 'limit',
          recipe,
          flops_per_sample: FLOPS_PER_SAMPLE[recipe],
          peak_gflops: peak.gflops_all_cores,
          samples_per_s: Math.round((peak.gflops_all_cores * 1e9) / FLOPS_PER_SAMPLE[recipe]),
        };
        done.set('limit', limit);
        print(limit);
        results.push(limit);
      }
      for (const impl of options.impls) {
        const skip = skipReason(impl, recipe, options, pythons);
        if (skip) {
          const line = { impl, recipe, skipped: skip };
          print(line);
          results.push(line);
          continue;
        }
        let got;
        if (impl === 'pytorch') {
          got = await bestPytorch(recipe, options, implArgs, pythons);
          if (got.threads_tried) pytorchThreads.push(got);
        } else {
          got = await runOnce(impl, recipe, options, implArgs, pythons);
        }
        if (got.samples_per_s !== undefined) {
          addRatios(got, done);
          done.set(impl, got);
        }
        print(got);
        results.push(got);
      }
    }
    process.stdout.write(`\n${summaryTable(results)}\n`);
    process.stdout.write(footnotes(results, dataKind, options, pytorchThreads, peak));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Why `impl` does not run on `recipe` in this run, or undefined when it does. */
function skipReason(impl, recipe, options, pythons) {
  if (impl === 'pytorch' && !pythons.torch) return 'python3 torch not installed';
  if (impl === 'numpy' && !pythons.numpy) return 'python3 numpy not installed';
  if (impl === 'neurite-fit' && recipe === 'inference')
    return 'fit trains; inference is the neurite-compiled row';
  if (impl === 'numpy' && recipe === 'cnn')
    return 'no hand-written convolution: the NumPy loop covers the 784-16-16-10 network';
  if (!options.onlyGiven) return NOT_BY_DEFAULT[recipe]?.[impl];
  return undefined;
}

/** One run of one implementation, after waiting for a quiet machine. */
async function runOnce(impl, recipe, options, implArgs, pythons, threads) {
  const busy = await settle(options.settle);
  let got;
  // The hand-written NumPy loop is the speed of one core's BLAS, as its row says.
  const env = impl === 'numpy' ? { OPENBLAS_NUM_THREADS: '1' } : {};
  const status = await runChild(
    command(impl, pythons)[0],
    implArgs(impl, recipe, threads),
    (line) => {
      got = line;
    },
    env,
  );
  if (!got || (status !== 0 && !got.skipped)) {
    got = { impl, recipe, error: `exited with ${status} (see its message above)` };
  }
  if (got.samples_per_s !== undefined) got.host_busy_before = busy;
  return got;
}

/** PyTorch at each thread count of --torch-threads; the fastest line, with every count's figure. */
async function bestPytorch(recipe, options, implArgs, pythons) {
  const tried = [];
  for (const threads of options.torchThreads) {
    const got = await runOnce('pytorch', recipe, options, implArgs, pythons, threads);
    if (got.samples_per_s === undefined) return got;
    tried.push(got);
  }
  const best = tried.reduce((a, b) => (b.samples_per_s > a.samples_per_s ? b : a));
  best.threads_tried = Object.fromEntries(tried.map((t) => [String(t.threads), t.samples_per_s]));
  return best;
}

/**
 * The machine's peak float32 GFLOP/s: a large OpenBLAS sgemm through NumPy, on
 * one thread and on every core; the limit rows divide it by FLOPs per sample.
 */
async function measurePeak(python, settleSeconds) {
  const run = async (threads) => {
    await settle(settleSeconds);
    let got;
    await runChild(
      python,
      [join(here, 'impl', 'peak.py')],
      (line) => {
        got = line;
      },
      { OPENBLAS_NUM_THREADS: String(threads) },
    );
    return got?.best_gflops;
  };
  const one = await run(1);
  const all = await run(cpus().length);
  if (one === undefined || all === undefined) return undefined;
  return {
    impl: 'peak',
    what: 'float32 sgemm 1536×1536, OpenBLAS via NumPy, best of 10',
    gflops_one_core: one,
    gflops_all_cores: Math.max(one, all),
    cores: cpus().length,
  };
}

/** ratio_vs_<impl> = this line's samples/s over that implementation's, same recipe. */
function addRatios(line, done) {
  // fit is weighed against the hand-written compiled loop it replaces.
  const against =
    line.impl === HEADLINE
      ? [...done.keys()]
      : line.impl === 'neurite-fit'
        ? [...REFERENCES, HEADLINE]
        : REFERENCES;
  for (const other of against) {
    const ref = done.get(other);
    if (ref && other !== line.impl)
      line[`ratio_vs_${other}`] = round3(line.samples_per_s / ref.samples_per_s);
  }
}

function footnotes(results, dataKind, options, pytorchThreads, peak) {
  const notes = [
    '',
    `epoch s: median of ${options.epochs} timed epochs of ${options.quick ? '~5,000' : '60,000'} samples ` +
      '(a last partial batch is dropped) ' +
      `(inference: median pass over the test set at batch 1000); samples/s from it.`,
    "vs X: this row's samples/s divided by X's (above 1 = faster than X). Peak RSS: the whole process.",
  ];
  if (pytorchThreads.length) {
    const each = pytorchThreads.map((r) => {
      const counts = Object.entries(r.threads_tried)
        .map(([t, sps]) => `${t}: ${Math.round(sps).toLocaleString('en-US')}`)
        .join(', ');
      return `${r.recipe} ${r.threads} thread${r.threads === 1 ? '' : 's'} (samples/s by threads ${counts})`;
    });
    notes.push(
      `pytorch: the fastest of ${options.torchThreads.join(' and ')} threads, OpenMP's default wait policy: ${each.join('; ')}.`,
    );
  }
  const fits = results.filter((r) => r.impl === 'neurite-fit' && r[`ratio_vs_${HEADLINE}`]);
  if (fits.length) {
    notes.push(
      `neurite-fit: fit of @neurite/nn on the same batches as the hand-written compiled loop (its loss: the epoch's mean); ` +
        `samples/s over neurite-compiled's: ${fits.map((r) => `${r.recipe} ${r[`ratio_vs_${HEADLINE}`]}`).join(', ')}.`,
    );
  }
  if (peak) {
    notes.push(
      `limit: FLOPs per sample over the measured peak, ${peak.gflops_all_cores} GFLOP/s on ${peak.cores} cores ` +
        `(${peak.gflops_one_core} on one; ${peak.what}).`,
    );
  }
  if (dataKind === 'synthetic')
    notes.push('DATA IS SYNTHETIC (MNIST files not found): accuracy means nothing.');
  const busy = results.filter((r) => r.host_busy_before > QUIET);
  if (busy.length) {
    notes.push(
      `WARNING: the machine was busy before ${busy.map((r) => `${r.impl}/${r.recipe}`).join(', ')} ` +
        `(host_busy_before > ${QUIET}): those timings are likely pessimistic.`,
    );
  }
  const blas = results.find(
    (r) => r.impl === 'pytorch' && r.blas && r.blas !== 'openblas' && r.blas !== 'mkl',
  );
  if (blas) notes.push(`PyTorch BLAS: ${blas.blas}`);
  return `${notes.join('\n')}\n`;
}

async function soak(options, implArgs, pythons, print) {
  const recipe = options.recipes.find((r) => r !== 'inference') ?? 'modern';
  const candidates = options.onlyGiven ? options.impls : ['neurite-compiled', 'neurite-eager'];
  for (const impl of candidates) {
    const skip = skipReason(impl, recipe, { ...options, onlyGiven: true }, pythons);
    if (skip) {
      print({ impl, recipe, skipped: skip });
      continue;
    }
    const epochs = [];
    let skipped = false;
    const status = await runChild(
      command(impl, pythons)[0],
      [...implArgs(impl, recipe, options.torchThreads[0]), '--soak', String(options.soak)],
      (line) => {
        print(line);
        if (line.skipped) skipped = true;
        if (line.soak_epoch !== undefined) epochs.push(line);
      },
      impl === 'numpy' ? { OPENBLAS_NUM_THREADS: '1' } : {},
    );
    if (status !== 0)
      print({ impl, recipe, error: `exited with ${status} (see its message above)` });
    if (skipped) continue;
    if (epochs.length) {
      const first = epochs[0].rss_mb;
      const last = epochs.at(-1).rss_mb;
      const max = Math.max(...epochs.map((e) => e.rss_mb));
      process.stdout.write(
        `\nsoak ${impl}/${recipe}: ${epochs.length} epochs, RSS after epoch 1 ${first} MB, ` +
          `after epoch ${epochs.length} ${last} MB (max ${max} MB, growth ${Math.round((last - first) * 10) / 10} MB)\n`,
      );
    }
    if (!options.onlyGiven) break;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
