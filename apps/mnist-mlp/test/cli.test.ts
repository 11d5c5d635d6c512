import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, type ModelSpec, restoreCheckpoint } from '@neurite/nn';
import { saveCheckpoint } from '@neurite/nn/node';
import { decode, encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glyph } from '../src/core/font.js';
import { cli, lastJson, writeGlyphMnist } from './fixtures.js';

/** The full MNIST files, where the machine has them (../shared/datasets/mnist from the repository). */
const sharedMnist = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/datasets/mnist',
);

let dir: string;
let data: string;
let model: string;
let trained: Record<string, unknown>;

/** A big black-on-white rendering of digit `d` in the 3×5 font, off-centre, as a user's PNG. */
function bigDigitPng(d: number): Uint8Array {
  const width = 160;
  const height = 120;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const cell = 18;
  for (const [gx, gy] of glyph(String(d))) {
    for (let y = 0; y < cell; y++)
      for (let x = 0; x < cell; x++) {
        const p = ((10 + gy * cell + y) * width + 90 + gx * cell + x) * 3;
        rgb[p] = rgb[p + 1] = rgb[p + 2] = 20;
      }
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mnist-mlp-cli-'));
  data = join(dir, 'data');
  model = join(dir, 'model.safetensors');
  await writeGlyphMnist(data);
  const run = await cli([
    'train',
    '--data',
    data,
    '--epochs',
    '4',
    '--batch',
    '20',
    '--lr',
    '0.02',
    '--out',
    model,
    '--json',
  ]);
  expect(run.stderr).toContain('epoch 4/4');
  expect(run.code).toBe(0);
  trained = lastJson(run.stdout);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mnist-mlp CLI, end to end on generated IDX data', () => {
  it('train --json ends stdout with the run as one JSON object', async () => {
    const run = await cli([
      'train',
      '--data',
      data,
      '--epochs',
      '1',
      '--batch',
      '20',
      '--out',
      join(dir, 'a.safetensors'),
      '--json',
      '--seed',
      '7',
    ]);
    expect(run.code).toBe(0);
    const result = lastJson(run.stdout);
    expect(Object.keys(result).sort()).toEqual(
      [
        'batch',
        'epochs',
        'model',
        'parameters',
        'recipe',
        'samples_per_second',
        'seed',
        'test_accuracy',
        'train_seconds',
      ].sort(),
    );
    expect(result).toMatchObject({
      recipe: 'modern',
      epochs: 1,
      batch: 20,
      seed: 7,
      parameters: 13002,
      model: join(dir, 'a.safetensors'),
    });
    expect(result.test_accuracy).toBeGreaterThan(0.1);
    expect(result.samples_per_second).toBeGreaterThan(0);
  });

  it('gives a bit-identical checkpoint for the same seed, and another one for another seed', async () => {
    const args = (out: string, seed: string) => [
      'train',
      '--recipe',
      'classic',
      '--data',
      data,
      '--epochs',
      '1',
      '--out',
      join(dir, out),
      '--seed',
      seed,
    ];
    const [a, b, c] = await Promise.all([
      cli(args('s1.safetensors', '3')),
      cli(args('s2.safetensors', '3')),
      cli(args('s3.safetensors', '4')),
    ]);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    const [x, y, z] = await Promise.all(
      ['s1', 's2', 's3'].map((n) => readFile(join(dir, `${n}.safetensors`))),
    );
    expect(Buffer.compare(x!, y!)).toBe(0);
    expect(Buffer.compare(x!, z!)).not.toBe(0);
  });

  it('eval reports accuracy consistent with its confusion matrix, on the data the checkpoint was trained on', async () => {
    const run = await cli(['eval', '--model', model, '--json']);
    expect(run.code).toBe(0);
    const result = lastJson(run.stdout) as {
      accuracy: number;
      count: number;
      confusion: number[][];
      recall: number[];
      data: string;
    };
    expect(result.data).toBe(data);
    expect(result.count).toBe(200);
    expect(result.confusion).toHaveLength(10);
    const total = result.confusion.flat().reduce((a, b) => a + b, 0);
    const diagonal = result.confusion.reduce((s, row, i) => s + row[i]!, 0);
    expect(total).toBe(200);
    expect(result.accuracy).toBeCloseTo(diagonal / total, 10);
    for (const row of result.confusion) expect(row.reduce((a, b) => a + b, 0)).toBe(20);
    // The checkpoint holds the weights whose test accuracy training reported.
    expect(result.accuracy).toBe(trained.test_accuracy);
    expect(result.accuracy).toBeGreaterThan(0.9);
    const table = await cli(['eval', '--model', model]);
    expect(table.stdout).toContain('confusion matrix');
    expect(table.stdout).toMatch(/accuracy \d+\.\d\d%/);
  });

  it('predict classifies a large, off-centre, dark-on-light PNG of a digit', async () => {
    const results = await Promise.all(
      [3, 7].map(async (d) => {
        const png = join(dir, `digit-${d}.png`);
        await writeFile(png, bigDigitPng(d));
        const run = await cli(['predict', '--model', model, png, '--json']);
        expect(run.code).toBe(0);
        return [d, lastJson(run.stdout)] as const;
      }),
    );
    for (const [d, result] of results) {
      const activations = result.activations as number[];
      expect(activations).toHaveLength(10);
      expect(result.inverted).toBe(true);
      expect(result.predicted).toBe(activations.indexOf(Math.max(...activations)));
      expect(result.predicted).toBe(d);
      // Softmax outputs of the modern recipe sum to one.
      expect(activations.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
  });

  it('visualize writes the four pictures as valid PNGs of the documented sizes', async () => {
    const out = join(dir, 'pictures');
    const run = await cli(['visualize', '--model', model, '--out', out]);
    expect(run.code).toBe(0);
    const size = async (name: string) => {
      const png = decode(await readFile(join(out, name)));
      return [png.width, png.height];
    };
    // 16 neurons: 4×4 tiles of 28·4 px with 4 px gaps, under a 16 px title, each over a
    // 16 px caption; then the colour bar (12 px), its labels and a line (4 + 16 + 16 + 4 px).
    expect(await size('weights.png')).toEqual([4 * 112 + 5 * 4, 20 + 4 * 132 + 4 + 52]);
    // Three panels: loss, accuracy, accuracy zoomed.
    expect(await size('curves.png')).toEqual([1080, 260]);
    // 10 classes: 40 px cells after a 28 px label column / 48 px header.
    expect(await size('confusion.png')).toEqual([28 + 400 + 8, 48 + 400 + 8]);
    // A 16 px legend line, then 8×4 cells of 84 px digits, captions 16 px, gaps 8 px.
    expect(await size('mistakes.png')).toEqual([8 * 92 + 8, 24 + 4 * (84 + 16 + 8) + 8]);
  });

  it.skipIf(!existsSync(sharedMnist))(
    'download keeps files already present and valid (no network needed)',
    async () => {
      const to = join(dir, 'mnist');
      await mkdir(to);
      const files = [
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
      ];
      for (const f of files) await copyFile(join(sharedMnist, f), join(to, f));
      const run = await cli(['download', '--to', to, '--json']);
      expect(run.code).toBe(0);
      const result = lastJson(run.stdout) as { files: { file: string; status: string }[] };
      expect(result.files.map((f) => [f.file, f.status]).sort()).toEqual(
        files.map((f) => [f, 'present']).sort(),
      );
    },
  );

  it('answers --help for every command', async () => {
    const commands = ['train', 'eval', 'predict', 'visualize', 'download', 'bench', 'demo'];
    const runs = await Promise.all([cli(['--help']), ...commands.map((c) => cli([c, '--help']))]);
    for (const run of runs) expect(run.code).toBe(0);
    for (const c of commands) expect(runs[0]!.stdout).toContain(c);
    expect(runs[1]!.stdout).toContain('--recipe <name>');
    expect(runs[1]!.stdout).toContain('classic');
  });
});

describe('mnist-mlp CLI, bad input: one clear line on stderr and exit code 2', () => {
  const expectBadInput = (run: { code: number; stderr: string }, pattern: RegExp) => {
    expect(run.code).toBe(2);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mnist-mlp: /);
    expect(run.stderr).toMatch(pattern);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  };

  it('refuses a missing data folder, an unknown recipe and a malformed number', async () => {
    const missing = join(dir, 'nowhere');
    const notAFolder = join(dir, 'file.txt');
    await writeFile(notAFolder, 'text');
    const [noData, recipe, epochs, download] = await Promise.all([
      cli(['train', '--data', missing, '--out', join(dir, 'x.safetensors')]),
      cli(['train', '--recipe', 'fancy', '--data', data]),
      cli(['train', '--epochs', 'many', '--data', data]),
      cli(['download', '--to', notAFolder]),
    ]);
    expectBadInput(noData, new RegExp(`${missing}: no such folder`));
    expectBadInput(recipe, /'fancy'.*classic, modern/);
    expectBadInput(epochs, /--epochs.*'many'/);
    expectBadInput(download, /file\.txt: exists and is not a folder/);
  });

  it('refuses a corrupt or truncated checkpoint and a PNG that is not a PNG', async () => {
    const garbage = join(dir, 'garbage.safetensors');
    await writeFile(garbage, new TextEncoder().encode('this is not a checkpoint at all'));
    const truncated = join(dir, 'truncated.safetensors');
    await writeFile(truncated, (await readFile(model)).subarray(0, 1000));
    const fake = join(dir, 'fake.png');
    await writeFile(fake, new TextEncoder().encode('GIF89a pretending'));
    const [g, t, p, m] = await Promise.all([
      cli(['eval', '--model', garbage]),
      cli(['predict', '--model', truncated, fake]),
      cli(['predict', '--model', model, fake]),
      cli(['eval', '--model', join(dir, 'absent.safetensors')]),
    ]);
    expectBadInput(g, /garbage\.safetensors/);
    expectBadInput(t, /truncated\.safetensors/);
    expectBadInput(p, /fake\.png: not a PNG/);
    expectBadInput(m, /absent\.safetensors: no such file/);
  });

  /** The trained checkpoint saved again with `meta` in place of its own. */
  async function withMeta(name: string, edit: (meta: Record<string, unknown>) => void) {
    const restored = restoreCheckpoint(new Uint8Array(await readFile(model)));
    const meta = structuredClone(restored.meta) as Record<string, unknown>;
    edit(meta);
    const path = join(dir, name);
    await saveCheckpoint(path, restored.model, { spec: restored.spec, meta });
    return path;
  }

  it('refuses a malformed history, and never lists a folder a checkpoint merely records', async () => {
    const badHistory = await withMeta('history.safetensors', (m) => {
      (m.history as unknown[])[1] = { epoch: 'two' };
    });
    const recorded = await withMeta('etc.safetensors', (m) => {
      m.data = dir; // a folder that exists, holding other files than MNIST's
    });
    const [v, e] = await Promise.all([
      cli(['visualize', '--model', badHistory, '--out', join(dir, 'figs')]),
      cli(['eval', '--model', recorded]),
    ]);
    expectBadInput(v, /training history, entry 1: epoch is "two", not a positive integer/);
    expectBadInput(
      e,
      /trained on --data .*, which does not hold MNIST's IDX files from here: pass --data/,
    );
    expect(e.stderr).not.toContain('model.safetensors');
  });

  it('refuses an --out in a missing folder before training, and a data file that is a folder', async () => {
    const broken = join(dir, 'broken');
    await mkdir(broken);
    for (const f of [
      'train-images-idx3-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ]) {
      await copyFile(join(data, `${f}.gz`), join(broken, `${f}.gz`));
    }
    await mkdir(join(broken, 'train-labels-idx1-ubyte.gz'));
    const [out, folder] = await Promise.all([
      cli(['train', '--data', data, '--out', join(dir, 'missing', 'm.safetensors')]),
      cli(['train', '--data', broken, '--epochs', '1', '--out', join(dir, 'z.safetensors')]),
    ]);
    expectBadInput(out, /--out .*m\.safetensors: the folder .*missing does not exist/);
    expect(out.stderr).not.toContain('epoch');
    expectBadInput(folder, /train-labels-idx1-ubyte/);
  });

  it('evaluates a network of 400 classes (the confusion matrix has 160,000 cells)', async () => {
    const wide = join(dir, 'wide.safetensors');
    const spec: ModelSpec = { input: [784], layers: [{ type: 'dense', units: 400 }] };
    await saveCheckpoint(wide, buildModel(spec, { seed: 1 }));
    const run = await cli(['eval', '--model', wide, '--data', data]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/accuracy/);
  });

  it('--version, a missing command in one line, and errors as JSON under --json', async () => {
    const pkg = JSON.parse(
      await readFile(resolve(dirname(fileURLToPath(import.meta.url)), '../package.json'), 'utf8'),
    );
    const [version, none, jsonError, jsonUsage] = await Promise.all([
      cli(['--version']),
      cli([]),
      cli(['eval', '--model', join(dir, 'absent.safetensors'), '--json']),
      cli(['train', '--epochs', 'many', '--json']),
    ]);
    expect([version.code, version.stdout.trim()]).toEqual([0, pkg.version]);
    expectBadInput(none, /no command given: one of train, eval, .* \(see --help\)/);
    expectBadInput(jsonError, /absent\.safetensors: no such file/);
    expect(JSON.parse(jsonError.stdout.trim())).toEqual({
      error: expect.stringMatching(/absent\.safetensors: no such file/),
      code: 2,
    });
    expect(jsonUsage.code).toBe(2);
    expect(JSON.parse(jsonUsage.stdout.trim())).toEqual({
      error: expect.stringMatching(/--epochs.*'many'/),
      code: 2,
    });
  });

  it('draws no redrawn bar for TERM=dumb, even on a terminal', async () => {
    // `script` gives the command a pseudo-terminal, where the bar would otherwise redraw itself.
    const command = [
      process.execPath,
      '--conditions=@neurite/source',
      '--import',
      'tsx',
      'src/cli.ts',
    ]
      .concat(['train', '--data', data, '--epochs', '1', '--out', join(dir, 'tty.safetensors')])
      .map((a) => `'${a}'`)
      .join(' ');
    const run = (term: string) =>
      new Promise<string>((done) => {
        execFile(
          'script',
          ['-qec', command, '/dev/null'],
          {
            cwd: resolve(dirname(fileURLToPath(import.meta.url)), '..'),
            env: { ...process.env, TERM: term, NO_COLOR: '' },
          },
          (_error, stdout) => done(stdout),
        );
      });
    const [dumb, xterm] = await Promise.all([run('dumb'), run('xterm')]);
    expect(dumb).toMatch(/epoch 1\/1/);
    const csi = `${String.fromCharCode(27)}[`; // the start of every cursor-control sequence
    expect(dumb).not.toContain(csi);
    expect(xterm).toContain(csi); // the same run on a capable terminal does redraw
  });

  it('refuses data whose images do not fit the spec\u2019s input size', async () => {
    const small = join(dir, 'small');
    await writeGlyphMnist(small, { train: 100, test: 20, side: 20, gzip: false });
    const [trainRun, evalRun] = await Promise.all([
      cli(['train', '--data', small, '--epochs', '1', '--out', join(dir, 'y.safetensors')]),
      cli(['eval', '--model', model, '--data', small]),
    ]);
    expectBadInput(trainRun, /20×20 = 400 pixels.*784-16-16-10 takes 784 inputs/);
    expectBadInput(evalRun, /400 pixels/);
  });
});
