import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { downloadCommand } from './commands/download.js';
import { evalCommand } from './commands/eval.js';
import { type ExportOptions, exportCommand, exportFormats } from './commands/export.js';
import { predictCommand } from './commands/predict.js';
import { type TrainOptions, trainCommand } from './commands/train.js';
import { visualizeCommand } from './commands/visualize.js';
import { nonNegativeInt, positiveInt, positiveNumber } from './options.js';
import { Output } from './output.js';
import { type RecipeName, recipeNames, recipes } from './recipes.js';

const dataOption = (description: string) =>
  new Option(
    '--data <source>',
    `${description}: 'embedded' (10,000 digits shipped with the app) or a folder of the four MNIST IDX files`,
  );
const jsonOption = () =>
  new Option('--json', 'print the result as one JSON object, the last line of stdout');

/** The app's version, from its package.json (one folder up from src/ and dist/ alike). */
function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

/**
 * The `mnist-mlp` command line. `setExitCode` receives each command's exit
 * code; parsing errors are thrown as commander errors.
 */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('mnist-mlp')
    .description(
      'The 784-16-16-10 network of "But what is a neural network?": train it, evaluate it, feed it your digits, look inside.',
    )
    .version(version(), '--version', 'print the version and exit')
    .exitOverride();
  program.configureOutput({
    // One line, like every other error of the CLI.
    outputError: (text, write) =>
      write(`mnist-mlp: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`),
  });
  const run = (fn: () => Promise<number>) => async () => setExitCode(await fn());

  const recipeList = recipeNames.map((n) => `${n}: ${recipes[n].summary}`).join('; ');
  const byRecipe = (key: 'epochs' | 'batch' | 'lr') =>
    `default: the recipe\u2019s, ${recipeNames.map((n) => `${n} ${recipes[n][key]}`).join(', ')}`;
  program
    .command('train')
    .description('train the network by a recipe and save a checkpoint')
    .addOption(
      new Option('--recipe <name>', `training recipe (${recipeList})`)
        .choices(recipeNames)
        .default('modern'),
    )
    .option('--epochs <n>', `epochs (${byRecipe('epochs')})`, positiveInt)
    .option('--batch <n>', `mini-batch size (${byRecipe('batch')})`, positiveInt)
    .option('--lr <x>', `peak learning rate (${byRecipe('lr')})`, positiveNumber)
    .option('--seed <n>', 'seed of the weights, batch order and augmentation', nonNegativeInt, 1)
    .addOption(dataOption('training data').default('embedded'))
    .option(
      '--out <file>',
      'checkpoint to write (safetensors, spec and history inside)',
      'model.safetensors',
    )
    .option(
      '--no-compile',
      'run the training step eagerly instead of compiled (same numbers, slower)',
    )
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as TrainOptions & { json?: boolean };
      setExitCode(await trainCommand({ ...o, json: !!o.json }, new Output(!!o.json)));
    });

  program
    .command('eval')
    .description('accuracy, per-digit precision and recall, and confusion matrix on a test set')
    .requiredOption('--model <file>', 'checkpoint to evaluate')
    .addOption(dataOption('test data (default: the data the checkpoint was trained on)'))
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as { model: string; data?: string; json?: boolean };
      await run(() => evalCommand(o, new Output(!!o.json)))();
    });

  program
    .command('predict')
    .description('classify a PNG of a digit (any size, colour or gray, light or dark background)')
    .argument('<image>', 'PNG file of one handwritten digit')
    .requiredOption('--model <file>', 'checkpoint to use')
    .addOption(jsonOption())
    .action(async (image: string, opts) => {
      const o = opts as { model: string; json?: boolean };
      await run(() => predictCommand({ model: o.model, image }, new Output(!!o.json)))();
    });

  program
    .command('visualize')
    .description(
      'draw first-layer weights, training curves, confusion matrix and worst mistakes as PNGs',
    )
    .requiredOption('--model <file>', 'checkpoint to draw')
    .requiredOption('--out <dir>', 'folder for the pictures (made if missing)')
    .addOption(
      dataOption(
        'test data for the confusion matrix and mistakes (default: the training data of the checkpoint)',
      ),
    )
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as { model: string; out: string; data?: string; json?: boolean };
      await run(() => visualizeCommand(o, new Output(!!o.json)))();
    });

  program
    .command('export')
    .description(
      'write a checkpoint as an ONNX model (for ONNX Runtime) or a PyTorch state dict (torch.nn.Sequential names)',
    )
    .requiredOption('--model <file>', 'checkpoint to export')
    .addOption(
      new Option('--format <format>', 'onnx, or torch (safetensors)')
        .choices(exportFormats)
        .default('onnx'),
    )
    .requiredOption('--out <file>', 'file to write (model.onnx, model-torch.safetensors)')
    .option('--opset <n>', 'ONNX opset, 17 to 21 (default 18)', positiveInt)
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as ExportOptions & { json?: boolean };
      await run(() => exportCommand(o, new Output(!!o.json)))();
    });

  program
    .command('download')
    .description('fetch the full MNIST (60,000 + 10,000 digits), checked by SHA-256')
    .requiredOption('--to <dir>', 'folder for the four IDX files (made if missing)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as { to: string; json?: boolean };
      await run(() => downloadCommand(o, new Output(!!o.json)))();
    });

  program
    .command('bench')
    .description('samples per second of training steps and inference, eager and compiled')
    .addOption(
      new Option('--recipe <name>', 'training recipe').choices(recipeNames).default('modern'),
    )
    .option('--batch <n>', 'mini-batch size (default: the recipe\u2019s)', positiveInt)
    .option('--batches <n>', 'timed training batches per mode', positiveInt, 300)
    .addOption(dataOption('data to time on').default('embedded'))
    .addOption(new Option('--json', 'print one JSON line per measurement on stdout'))
    .action(async (opts) => {
      const o = opts as {
        recipe: RecipeName;
        batch?: number;
        batches: number;
        data: string;
        json?: boolean;
      };
      await run(() => benchCommand(o, new Output(!!o.json)))();
    });

  program
    .command('demo')
    .description(
      'train the modern recipe with its defaults on the embedded digits, then draw the pictures',
    )
    .option('--out <dir>', 'folder for the checkpoint and pictures', 'out')
    .option(
      '--epochs <n>',
      `epochs (default: the recipe\u2019s, ${recipes.modern.epochs})`,
      positiveInt,
    )
    .option('--seed <n>', 'seed', nonNegativeInt, 1)
    .addOption(jsonOption())
    .action(async (opts) => {
      const o = opts as { out: string; epochs?: number; seed: number; json?: boolean };
      await run(() => demoCommand(o, new Output(!!o.json)))();
    });

  return program;
}
