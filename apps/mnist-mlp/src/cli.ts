#!/usr/bin/env node
import { CommanderError } from 'commander';
import { InputError } from './core/errors.js';
import { buildProgram } from './program.js';

/**
 * Exit codes: 0 success, 2 bad input (usage errors, unreadable or
 * unsuitable files), 1 anything unexpected, 130 after Ctrl-C.
 */
async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof InputError) {
      process.stderr.write(`mnist-mlp: ${error.message}\n`);
      return 2;
    }
    const e = error as Error;
    process.stderr.write(`mnist-mlp: unexpected error: ${e.message}\n${e.stack ?? ''}\n`);
    return 1;
  }
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
