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
    const { logits, varList } = recipe === 'cnn' ? smallCnn(tf, seed) : mlp(tf, recipe, seed);
    const lossOf =
      recipe === 'classic'
        ? // mean over the batch of ½‖y − σ(z)‖²
          (x, y) => tf.mul(tf.mean(tf.sum(tf.square(tf.sub(y, tf.sigmoid(logits(x)))), 1)), 0.5)
        : (x, y) => tf.losses.softmaxCrossEntropy(y, logits(x));
    // Images as TF.js users lay them out: NHWC, which for one channel is the same bytes as NCHW.
    const input = (xs, size) =>
      recipe === 'cnn' ? tf.tensor4d(xs, [size, 28, 28, 1]) : tf.tensor2d(xs, [size, PIXELS]);
    const optimizer = recipe === 'classic' ? tf.train.sgd(3.0) : tf.train.adam(1e-3);
    let tensorsAfterFirstStep;

    return {
      info: { backend: tf.getBackend(), threads: backend === 'wasm' ? wasmThreads(tf) : 1 },
      train(batch, wantLoss) {
        const loss = tf.tidy(() => {
          const x = input(batch.x, batch.size);
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
        const predicted = tf.tidy(() => tf.argMax(logits(input(xs, size)), 1));
        const out = predicted.dataSync();
        predicted.dispose();
        return out;
      },
    };
  });
});

/** The 784-16-16-10 network: He-style init for ReLU, unit normal for the classic sigmoid one. */
function mlp(tf, recipe, seed) {
  const hidden = recipe === 'modern' ? tf.relu : tf.sigmoid;
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
  return { logits, varList: [w1, b1, w2, b2, w3, b3] };
}

/**
 * The small CNN: conv 5×5×8 → ReLU → maxpool 2 → conv 5×5×16 → ReLU → maxpool 2
 * → flatten → dense 10, in TF.js's NHWC layout with He-normal weights.
 */
function smallCnn(tf, seed) {
  const he = (shape, fanIn, i) =>
    tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed + i));
  const k1 = he([5, 5, 1, 8], 25, 1);
  const c1 = tf.variable(tf.zeros([8]));
  const k2 = he([5, 5, 8, 16], 200, 2);
  const c2 = tf.variable(tf.zeros([16]));
  const w = he([256, CLASSES], 256, 3);
  const b = tf.variable(tf.zeros([CLASSES]));
  const conv =
    tf.getBackend() === 'wasm' ? wasmTrainableConv2d(tf) : (x, k) => tf.conv2d(x, k, 1, 'valid');
  const logits = (x) => {
    const h1 = tf.maxPool(tf.relu(tf.add(conv(x, k1), c1)), 2, 2, 'valid');
    const h2 = tf.maxPool(tf.relu(tf.add(conv(h1, k2), c2)), 2, 2, 'valid');
    return tf.add(tf.matMul(tf.reshape(h2, [-1, 256]), w), b);
  };
  return { logits, varList: [k1, c1, k2, c2, w, b] };
}

/**
 * tf.conv2d (stride 1, 'valid') with a gradient the WASM backend can run. TF.js
 * 4.22's WASM backend registers Conv2D and Conv2DBackpropInput but no
 * Conv2DBackpropFilter, so training a convolution there throws. The filter
 * gradient is itself a stride-1 convolution, of the input (channels as the
 * batch) with the output gradient (as the filter): written that way, every
 * kernel of the step runs in WASM (XNNPACK's Conv2D).
 */
function wasmTrainableConv2d(tf) {
  return tf.customGrad((x, k, save) => {
    save([x, k]);
    return {
      value: tf.conv2d(x, k, 1, 'valid'),
      gradFunc: (dy, [xs, ks]) => {
        const dx = tf.conv2dTranspose(dy, ks, xs.shape, 1, 'valid');
        // dK[i, j, c, o] = Σ_{n, y, x} x[n, y + i, x + j, c] · dy[n, y, x, o]
        const dk = tf.transpose(
          tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, 'valid'),
          [1, 2, 0, 3],
        );
        return [dx, dk];
      },
    };
  });
}

function wasmThreads(tf) {
  const backend = tf.backend();
  return typeof backend.getThreadsCount === 'function' ? backend.getThreadsCount() : 1;
}
