import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DataError,
  type DownloadProgress,
  downloadMnist,
  loadMnistDir,
  MNIST_FILES,
  MNIST_SHA256,
} from '../src/node.js';
import { makeIdxFiles, rejection } from './support.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const generated = makeIdxFiles(40, 10, { gzip: true, seed: 3 });
const CONTENT: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': generated.trainImages,
  'train-labels-idx1-ubyte.gz': generated.trainLabels,
  't10k-images-idx3-ubyte.gz': generated.testImages,
  't10k-labels-idx1-ubyte.gz': generated.testLabels,
};
const SUMS = Object.fromEntries(Object.entries(CONTENT).map(([f, b]) => [f, sha256(b)]));

const sharedDir = resolve(
  fileURLToPath(new URL('../../../', import.meta.url)),
  '../shared/datasets/mnist',
);

/**
 * Serves `content` on 127.0.0.1 in several ways, by path prefix:
 * /good/ as is, /corrupt/ with one byte flipped, /short/ cut in half (with
 * a matching length), /cut/ announcing the full length and hanging up
 * half-way, and anything else 404.
 */
function serve(content: () => Record<string, Uint8Array>) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const [, mode, file] = (req.url ?? '').split('/');
    const body = content()[file ?? ''];
    if (!body || !['good', 'corrupt', 'short', 'cut'].includes(mode!)) {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    if (mode === 'good') res.writeHead(200, { 'content-length': body.length }).end(body);
    if (mode === 'corrupt') {
      const bad = Buffer.from(body);
      bad[bad.length >> 1]! ^= 0x55;
      res.writeHead(200, { 'content-length': bad.length }).end(bad);
    }
    if (mode === 'short') {
      const half = body.subarray(0, body.length >> 1);
      res.writeHead(200, { 'content-length': half.length }).end(half);
    }
    if (mode === 'cut') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
    }
  });
  return { server, requests };
}

let server: Server;
let requests: string[];
let base: string;
let content: Record<string, Uint8Array> = CONTENT;
let dir: string;

beforeAll(async () => {
  ({ server, requests } = serve(() => content));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurite-download-'));
  content = CONTENT;
  requests.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('downloadMnist', () => {
  it('fetches, verifies and writes the four files, reporting progress', async () => {
    const events: DownloadProgress[] = [];
    const result = await downloadMnist(join(dir, 'mnist'), {
      mirrors: [`${base}/good/`],
      sha256: SUMS,
      onProgress: (e) => events.push(e),
    });
    expect(result.map((r) => [r.file, r.status])).toEqual(
      MNIST_FILES.map((f) => [f, 'downloaded']),
    );
    expect((await readdir(join(dir, 'mnist'))).sort()).toEqual([...MNIST_FILES].sort());
    for (const file of MNIST_FILES) {
      const bytes = await readFile(join(dir, 'mnist', file));
      expect(sha256(bytes)).toBe(SUMS[file]);
      const last = events.filter((e) => e.file === file && e.phase === 'download').at(-1)!;
      expect(last.loaded).toBe(CONTENT[file]!.length);
      expect(last.total).toBe(CONTENT[file]!.length);
      expect(events.some((e) => e.file === file && e.phase === 'done')).toBe(true);
    }
    const loaded = await loadMnistDir(join(dir, 'mnist'));
    expect(Array.from(loaded.train.pixels)).toEqual(Array.from(generated.trainPixels));
  });

  it('rejects corrupted, truncated and cut-off downloads, falls back to the next mirror, leaves no partial file', async () => {
    const rejects: DownloadProgress[] = [];
    const mirrors = ['corrupt', 'short', 'cut', 'missing', 'good'].map((m) => `${base}/${m}`);
    const result = await downloadMnist(dir, {
      mirrors,
      sha256: SUMS,
      onProgress: (e) => e.phase === 'reject' && rejects.push(e),
    });
    expect(result.every((r) => r.url?.startsWith(`${base}/good/`))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([...MNIST_FILES].sort());
    const reasons = rejects.filter((e) => e.file === MNIST_FILES[0]).map((e) => e.reason);
    expect(reasons[0]).toMatch(/^SHA-256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(reasons[1]).toMatch(/^SHA-256 mismatch/);
    expect(reasons[2]).toMatch(/terminated|truncated|other side closed/);
    expect(reasons[3]).toBe('HTTP 404 Not Found');
  });

  it('fails naming every mirror when none has a valid file, writing nothing', async () => {
    const error = await rejection(
      downloadMnist(dir, {
        mirrors: [`${base}/corrupt/`, `${base}/cut/`],
        sha256: SUMS,
      }),
    );
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toContain(
      `downloadMnist: could not get a valid ${MNIST_FILES[0]} from any mirror:`,
    );
    expect(error.message).toContain(
      `${base}/corrupt/${MNIST_FILES[0]}: SHA-256 mismatch: expected ${SUMS[MNIST_FILES[0]]}`,
    );
    expect(error.message).toContain(`${base}/cut/${MNIST_FILES[0]}: `);
    expect(await readdir(dir)).toEqual([]);
  });

  it('skips files already present and valid, and replaces invalid ones', async () => {
    await downloadMnist(dir, { mirrors: [`${base}/good/`], sha256: SUMS });
    expect(requests.length).toBe(4);
    const damaged = join(dir, MNIST_FILES[2]);
    await writeFile(damaged, 'not the file');
    const events: DownloadProgress[] = [];
    const result = await downloadMnist(dir, {
      mirrors: [`${base}/good/`],
      sha256: SUMS,
      onProgress: (e) => events.push(e),
    });
    expect(result.map((r) => r.status)).toEqual(['present', 'present', 'downloaded', 'present']);
    expect(requests.slice(4)).toEqual([`/good/${MNIST_FILES[2]}`]);
    expect(events.filter((e) => e.phase === 'skip').map((e) => e.file)).toEqual([
      MNIST_FILES[0],
      MNIST_FILES[1],
      MNIST_FILES[3],
    ]);
    expect(events.find((e) => e.phase === 'reject')?.reason).toMatch(
      /existing .* has SHA-256 [0-9a-f]{64}, not/,
    );
    expect(sha256(await readFile(damaged))).toBe(SUMS[MNIST_FILES[2]]);
  });

  it('keeps an existing file it could not replace', async () => {
    const path = join(dir, MNIST_FILES[0]);
    await writeFile(path, 'old');
    await expect(downloadMnist(dir, { mirrors: [`${base}/short/`], sha256: SUMS })).rejects.toThrow(
      DataError,
    );
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual([MNIST_FILES[0]]);
  });

  it('refuses bad checksums and file names', async () => {
    await expect(
      downloadMnist(dir, { mirrors: [base], sha256: { 'a.gz': 'abc' } }),
    ).rejects.toThrow("downloadMnist: sha256['a.gz'] is not 64 lowercase hex digits: 'abc'");
    await expect(
      downloadMnist(dir, { mirrors: [base], sha256: { '../x': SUMS[MNIST_FILES[0]]! } }),
    ).rejects.toThrow("'../x' is not a plain file name");
  });

  it.skipIf(!existsSync(sharedDir))(
    'verifies the real MNIST files against the built-in sums',
    async () => {
      const sums = readFileSync(join(sharedDir, 'SHA256SUMS'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/));
      expect(Object.fromEntries(sums.map(([sum, file]) => [file, sum]))).toEqual(MNIST_SHA256);
      content = Object.fromEntries(MNIST_FILES.map((f) => [f, readFileSync(join(sharedDir, f))]));
      const result = await downloadMnist(dir, { mirrors: [`${base}/good/`] });
      expect(result.map((r) => r.status)).toEqual([
        'downloaded',
        'downloaded',
        'downloaded',
        'downloaded',
      ]);
      await expect(downloadMnist(dir, { mirrors: [`${base}/corrupt/`] })).resolves.toHaveLength(4);
      await rm(join(dir, MNIST_FILES[3]));
      await expect(downloadMnist(dir, { mirrors: [`${base}/corrupt/`] })).rejects.toThrow(
        `could not get a valid ${MNIST_FILES[3]}`,
      );
    },
    30_000,
  );
});
