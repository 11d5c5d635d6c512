import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './errors.js';

/** The four files of MNIST, as published (gzipped IDX). */
export const MNIST_FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
] as const;

/** SHA-256 of each published MNIST file (their MD5 sums match the original publication). */
export const MNIST_SHA256: Readonly<Record<string, string>> = {
  'train-images-idx3-ubyte.gz': '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
  'train-labels-idx1-ubyte.gz': '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
  't10k-images-idx3-ubyte.gz': '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
  't10k-labels-idx1-ubyte.gz': 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
};

/**
 * Public mirrors of the original MNIST files, tried in order: the copies
 * the PyTorch and TensorFlow projects download from. Every file is checked
 * against MNIST_SHA256 whichever mirror it comes from.
 */
export const MNIST_MIRRORS: readonly string[] = [
  'https://ossci-datasets.s3.amazonaws.com/mnist/',
  'https://storage.googleapis.com/cvdf-datasets/mnist/',
];

/** A step of `downloadMnist`, for progress displays. */
export interface DownloadProgress {
  /** The file concerned, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  /**
   * `skip`: already present and valid; `download`: bytes arriving;
   * `reject`: a download or an existing file failed its check (see `reason`);
   * `done`: the file is in place and valid.
   */
  phase: 'skip' | 'download' | 'reject' | 'done';
  /** Bytes received (or, for `skip` and `done`, the file's size). */
  loaded: number;
  /** Expected bytes, when the server said. */
  total: number | undefined;
  /** The address being downloaded. */
  url?: string;
  /** Why a `reject` happened. */
  reason?: string;
}

/** Options of `downloadMnist`. */
export interface DownloadOptions {
  /** Base addresses tried in order for each file; default MNIST_MIRRORS. */
  mirrors?: readonly string[];
  /** Called at every step and every received chunk. */
  onProgress?: (event: DownloadProgress) => void;
  /** The fetch to use; default the global one. */
  fetch?: typeof globalThis.fetch;
  /** File name → SHA-256 (hex) of the files to get; default MNIST_SHA256. Lets the same code fetch other datasets. */
  sha256?: Readonly<Record<string, string>>;
  /** Cancels the downloads. */
  signal?: AbortSignal;
}

/** A file `downloadMnist` made sure of. */
export interface DownloadedFile {
  file: string;
  path: string;
  /** `present`: it was already there and valid; `downloaded`: fetched now. */
  status: 'present' | 'downloaded';
  bytes: number;
  sha256: string;
  /** Where it came from, when downloaded. */
  url?: string;
}

async function hashFile(path: string): Promise<{ sha256: string; bytes: number } | undefined> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function describe(e: unknown): string {
  const error = e as Error & { cause?: unknown };
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message ?? String(e)}${cause}`;
}

/**
 * Streams `url` into a temporary file beside `path`, hashing as it goes,
 * and renames it into place only when length and SHA-256 are right, so
 * `path` is either absent, its old self, or complete and valid.
 */
async function fetchInto(
  url: string,
  path: string,
  file: string,
  expected: string,
  options: DownloadOptions,
): Promise<DownloadedFile> {
  const doFetch = options.fetch ?? globalThis.fetch;
  // identity: a server that labels .gz files as gzip-encoded must not have them inflated on the way.
  const response = await doFetch(url, {
    headers: { 'accept-encoding': 'identity' },
    signal: options.signal ?? null,
  });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const length = Number(response.headers.get('content-length'));
  const total = !encoded && Number.isFinite(length) && length > 0 ? length : undefined;
  const temp = `${path}.${randomBytes(6).toString('hex')}.part`;
  const handle = await open(temp, 'wx');
  let closed = false;
  try {
    const hash = createHash('sha256');
    let loaded = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      await handle.write(value);
      loaded += value.length;
      options.onProgress?.({ file, phase: 'download', loaded, total, url });
    }
    if (total !== undefined && loaded !== total) {
      throw new Error(`truncated: received ${loaded} of ${total} bytes`);
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new Error(`SHA-256 mismatch: expected ${expected}, got ${actual} (${loaded} bytes)`);
    }
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(temp, path);
    return { file, path, status: 'downloaded', bytes: loaded, sha256: actual, url };
  } catch (e) {
    if (!closed) await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw e;
  }
}

/**
 * Downloads MNIST's four gzipped IDX files into `dir` (made if missing),
 * trying `mirrors` in order and checking every file against its published
 * SHA-256. Writes are atomic (a temporary file renamed into place), so a
 * bad or cut-off download leaves nothing behind; files already present
 * and valid are kept, so a second run only fetches what is missing or
 * wrong. Fails with a `DataError` listing every mirror's error when a file
 * cannot be had.
 *
 * @example
 * await downloadMnist('data/mnist', {
 *   onProgress: (p) => p.phase === 'done' && console.log(p.file),
 * });
 * const mnist = await loadMnistDir('data/mnist');
 */
export async function downloadMnist(
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile[]> {
  const mirrors = options.mirrors ?? MNIST_MIRRORS;
  if (mirrors.length === 0) throw new DataError('downloadMnist: mirrors is empty');
  const sums = options.sha256 ?? MNIST_SHA256;
  for (const [file, sum] of Object.entries(sums)) {
    if (!/^[0-9a-f]{64}$/.test(sum)) {
      throw new DataError(
        `downloadMnist: sha256['${file}'] is not 64 lowercase hex digits: '${sum}'`,
      );
    }
    if (file.includes('/') || file.includes('\\') || file.startsWith('.')) {
      throw new DataError(`downloadMnist: '${file}' is not a plain file name`);
    }
  }
  await mkdir(dir, { recursive: true });
  const results: DownloadedFile[] = [];
  for (const [file, expected] of Object.entries(sums)) {
    const path = join(dir, file);
    const existing = await hashFile(path);
    if (existing?.sha256 === expected) {
      options.onProgress?.({ file, phase: 'skip', loaded: existing.bytes, total: existing.bytes });
      results.push({ file, path, status: 'present', ...existing });
      continue;
    }
    if (existing) {
      options.onProgress?.({
        file,
        phase: 'reject',
        loaded: existing.bytes,
        total: undefined,
        reason: `the existing ${path} has SHA-256 ${existing.sha256}, not ${expected}: downloading it again`,
      });
    }
    const failures: string[] = [];
    let result: DownloadedFile | undefined;
    for (const mirror of mirrors) {
      const url = new URL(file, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
      try {
        result = await fetchInto(url, path, file, expected, options);
        break;
      } catch (e) {
        if (options.signal?.aborted) throw e;
        failures.push(`${url}: ${describe(e)}`);
        options.onProgress?.({
          file,
          phase: 'reject',
          loaded: 0,
          total: undefined,
          url,
          reason: describe(e),
        });
      }
    }
    if (result === undefined) {
      throw new DataError(
        `downloadMnist: could not get a valid ${file} from any mirror:\n  ${failures.join('\n  ')}`,
      );
    }
    options.onProgress?.({
      file,
      phase: 'done',
      loaded: result.bytes,
      total: result.bytes,
      url: result.url,
    });
    results.push(result);
  }
  return results;
}
