import { stat } from 'node:fs/promises';
import { downloadMnist } from '@neurite/data/node';
import { SingleBar } from 'cli-progress';
import { InputError } from '../core/errors.js';
import { count, type Output } from '../output.js';
import { canRedraw } from '../progress.js';

/** `mnist-mlp download`: the four MNIST files, checked against their SHA-256, into `dir`. */
export async function downloadCommand(options: { to: string }, out: Output): Promise<number> {
  const existing = await stat(options.to).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new InputError(`download --to ${options.to}: exists and is not a folder`);
  }
  // Where the terminal cannot redraw a bar, the lines printed at the end are the report.
  const bar = canRedraw(process.stderr)
    ? new SingleBar({
        stream: process.stderr,
        format: '{file} [{bar}] {percentage}% | {value}/{total} bytes',
        hideCursor: true,
        clearOnComplete: true,
      })
    : null;
  let current = '';
  let files: Awaited<ReturnType<typeof downloadMnist>>;
  try {
    files = await downloadMnist(options.to, {
      onProgress: (p) => {
        if (p.phase === 'download') {
          if (p.file !== current) {
            bar?.stop();
            bar?.start(p.total ?? 0, 0, { file: p.file });
            current = p.file;
          }
          bar?.update(p.loaded, { file: p.file });
        } else if (p.phase === 'reject') {
          bar?.stop();
          current = '';
          out.line(`${p.file}: rejected ${p.url ?? ''}: ${p.reason ?? ''}`);
        }
      },
    });
  } catch (error) {
    bar?.stop();
    const e = error as NodeJS.ErrnoException;
    if (
      e.name === 'DataError' ||
      e.code === 'EACCES' ||
      e.code === 'ENOTDIR' ||
      e.code === 'EEXIST'
    ) {
      throw new InputError(`download --to ${options.to}: ${e.message}`);
    }
    throw error;
  }
  bar?.stop();
  for (const f of files) {
    out.line(
      `${f.path}  ${count(f.bytes)} bytes  ${f.status === 'present' ? 'already present' : `downloaded from ${f.url}`}  sha256 ok`,
    );
  }
  out.line(`train with: mnist-mlp train --data ${options.to}`);
  out.result({
    dir: options.to,
    files: files.map(({ file, path, status, bytes, sha256 }) => ({
      file,
      path,
      status,
      bytes,
      sha256,
    })),
  });
  return 0;
}
