import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `src/<name>.ts` as a user does (tsx on the built packages) and returns what it printed. */
export async function runExample(name: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', `src/${name}.ts`, ...args],
    { cwd: root, maxBuffer: 16 * 2 ** 20 },
  );
  return stdout;
}
