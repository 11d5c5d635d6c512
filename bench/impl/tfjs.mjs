// TF.js as its users write it: core ops, variables, tf.train optimisers,
// tf.tidy around every step. Backend 'cpu' (pure JS) or 'wasm' by --backend.
// The @tensorflow/tfjs bundle is loaded (not tfjs-core alone) because in Node
// only it registers the gradient functions that training needs.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { CLASSES, main, PIXELS, parseImplArgs, runImplementation } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const HIDDEN = 16;

main(async () => {
  const options = parseImplArgs(process.argv.slice(2), { backend: { type: 'string' } });
  const backend = options.backend;
  if (backend !== 'cpu' && backend !== 'wasm') {
    throw new Error(`--backend: '${backend}' is not one of cpu, wasm`);
  }
  const tf = require('@tensorflow/tfjs');
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    // In Node the .wasm binaries are read from disk: point at the package's dist folder.
    const dist = dirname(
      require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'),
    );
    wasm.setWasmPaths(`${dist}/`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();

  await runImplementation(`tfjs-${backend}`, options, ({ recipe, seed }) => {
    const hidden = recipe === 'modern' ? tf.relu : tf.sigmoid;
    // He-style init for ReLU, unit normal for the classic sigmoid network, as in the tutorials.
    const init = (fanIn, fanOut, i) =>
      tf.variable(
        tf.randomNormal(
          [fanIn, fanOut],
          0,
          recipe === 'modern' ? Math.sqrt(2 / fanIn) : 1,
          'float32',
          seed + i,
        ),
      );
    const w1 = init(PIXELS, HIDDEN, 1);
    const b1 = tf.variable(tf.zeros([HIDDEN]));
    const w2 = init(HIDDEN, HIDDEN, 2);
    const b2 = tf.variable(tf.zeros([HIDDEN]));
    const w3 = init(HIDDEN, CLASSES, 3);
    const b3 = tf.variable(tf.zeros([CLASSES]));
    const logits = (x) => {
      const h1 = hidden(tf.add(tf.matMul(x, w1), b1));
      const h2 = hidden(tf.add(tf.matMul(h1, w2), b2));
      return tf.add(tf.matMul(h2, w3), b3);
    };
    const lossOf =
      recipe === 'modern'
        ? (x, y) => tf.losses.softmaxCrossEntropy(y, logits(x))
        : // mean over the batch of ½‖y − σ(z)‖²
          (x, y) => tf.mul(tf.mean(tf.sum(tf.square(tf.sub(y, tf.sigmoid(logits(x)))), 1)), 0.5);
    const optimizer = recipe === 'modern' ? tf.train.adam(1e-3) : tf.train.sgd(3.0);
    const varList = [w1, b1, w2, b2, w3, b3];
    let tensorsAfterFirstStep;

    return {
      info: { backend: tf.getBackend(), threads: backend === 'wasm' ? wasmThreads(tf) : 1 },
      train(batch, wantLoss) {
        const loss = tf.tidy(() => {
          const x = tf.tensor2d(batch.x, [batch.size, PIXELS]);
          const y = tf.tensor2d(batch.y, [batch.size, CLASSES]);
          return optimizer.minimize(() => lossOf(x, y), wantLoss, varList);
        });
        if (tensorsAfterFirstStep === undefined) tensorsAfterFirstStep = tf.memory().numTensors;
        if (!loss) return undefined;
        const value = loss.dataSync()[0];
        loss.dispose();
        // A leak here would make TF.js look worse than it is: refuse to time it.
        const live = tf.memory().numTensors;
        if (live > tensorsAfterFirstStep) {
          throw new Error(
            `tfjs-${backend}: ${live - tensorsAfterFirstStep} tensors leaked per epoch`,
          );
        }
        return value;
      },
      predict(xs, size) {
        const predicted = tf.tidy(() => tf.argMax(logits(tf.tensor2d(xs, [size, PIXELS])), 1));
        const out = predicted.dataSync();
        predicted.dispose();
        return out;
      },
    };
  });
});

function wasmThreads(tf) {
  const backend = tf.backend();
  return typeof backend.getThreadsCount === 'function' ? backend.getThreadsCount() : 1;
}
