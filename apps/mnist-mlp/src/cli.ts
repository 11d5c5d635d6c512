#!/usr/bin/env node
import { CommanderError } from 'commander';
import { InputError } from './core/errors.js';
import { buildProgram } from './program.js';

/**
 * Exit codes: 0 success, 2 bad input (usage errors, unreadable or
 * unsuitable files), 1 anything unexpected, 130 after Ctrl-C.
 */
async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  /** A bad-input line on stderr, and with --json the same as one JSON object on stdout. */
  const refuse = (message: string): number => {
    process.stderr.write(`mnist-mlp: ${message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: message, code: 2 })}\n`);
    return 2;
  };
  if (argv.length <= 2) return refuse(`no command given: one of ${COMMANDS} (see --help)`);
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0; usage
      // errors have been printed as one line by the program's outputError.
      if (error.exitCode !== 0 && json) {
        const message = error.message.replace(/^error: /, '');
        process.stdout.write(`${JSON.stringify({ error: message, code: 2 })}\n`);
      }
      return error.exitCode === 0 ? 0 : 2;
    }
    const bad = badInput(error);
    if (bad !== null) return refuse(bad);
    const e = error as Error;
    process.stderr.write(`mnist-mlp: unexpected error: ${e.message}\n${e.stack ?? ''}\n`);
    if (json)
      process.stdout.write(
        `${JSON.stringify({ error: `unexpected error: ${e.message}`, code: 1 })}\n`,
      );
    return 1;
  }
}

/**
 * The one line for an error caused by the user's input, or null for a bug.
 * Input is the command line, the files it names and what they hold, so the
 * packages' typed errors about data, specs, checkpoints and a diverging run
 * count too, as do file-system errors on a path the user gave.
 */
function badInput(error: unknown): string | null {
  if (error instanceof InputError) return error.message;
  const { name, message, code, path } = error as NodeJS.ErrnoException;
  if (INPUT_ERRORS.has(name)) return firstLine(message);
  if (code && path && FILE_ERRORS[code]) return `${path}: ${FILE_ERRORS[code]}`;
  return null;
}

const COMMANDS = 'train, eval, predict, visualize, download, bench, demo';

const INPUT_ERRORS = new Set([
  'DataError',
  'IdxError',
  'CheckpointError',
  'SpecError',
  'StateDictError',
  'TrainingError',
  'FitError',
  'OnnxExportError',
]);

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/** Errors that list several problems keep them on one line, joined by semicolons. */
function firstLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}

// `mnist-mlp eval … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
