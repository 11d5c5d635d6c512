// neurite as its users write it: @neurite/nn layers, losses and optimisers on
// @neurite/tensor, imported from the packages' built dist. --mode eager runs
// the step as written; --mode compiled runs it through compile(step).
import { main, PIXELS, parseImplArgs, runImplementation } from '../lib/harness.mjs';

main(async () => {
  const options = parseImplArgs(process.argv.slice(2), { mode: { type: 'string' } });
  const mode = options.mode;
  if (mode !== 'eager' && mode !== 'compiled') {
    throw new Error(`--mode: '${mode}' is not one of eager, compiled`);
  }
  const impl = `neurite-${mode}`;
  const T = await importBuilt('@neurite/tensor');
  const nn = await importBuilt('@neurite/nn');

  await runImplementation(impl, options, ({ recipe, seed }) => {
    if (typeof T === 'string') return { skipped: T };
    if (typeof nn === 'string') return { skipped: nn };
    if (mode === 'compiled' && typeof T.compile !== 'function') {
      return { skipped: 'compile() not available' };
    }
    const rng = new T.Rng(seed);
    const cnn = recipe === 'cnn';
    const modern = recipe === 'modern';
    const classic = recipe === 'classic';
    if (cnn && (typeof nn.Conv2d !== 'function' || typeof nn.MaxPool2d !== 'function')) {
      return { skipped: 'Conv2d and MaxPool2d are not in the built @neurite/nn' };
    }
    const model = cnn ? smallCnn(nn, rng) : mlp(nn, modern, rng);
    const optimizer = classic
      ? new nn.SGD(model.parameters(), { lr: 3.0 })
      : new nn.Adam(model.parameters(), { lr: 1e-3 });
    const inputShape = (size) => (cnn ? [size, 1, 28, 28] : [size, PIXELS]);

    const step = (x, target) => {
      optimizer.zeroGrad();
      const output = model.forward(x);
      const loss = classic ? nn.quadraticCost(output, target) : nn.crossEntropy(output, target);
      loss.backward();
      optimizer.step();
      return loss;
    };
    const classify = (x) => T.noGrad(() => model.forward(x).argmax(-1));
    const trainStep = mode === 'compiled' ? T.compile(step) : step;
    const predictStep = mode === 'compiled' ? T.compile(classify) : classify;

    return {
      train(batch, wantLoss) {
        const x = T.tensor(batch.x, { shape: inputShape(batch.size) });
        // Cross-entropy takes class labels (its int32 form), the classic recipe one-hot rows.
        const target = classic
          ? T.tensor(batch.y, { shape: [batch.size, 10] })
          : T.tensor(batch.labels, { shape: [batch.size] });
        const loss = trainStep(x, target);
        return wantLoss ? loss.item() : undefined;
      },
      predict(xs, size) {
        return predictStep(T.tensor(xs, { shape: inputShape(size) })).data;
      },
    };
  });
});

/** The 784-16-16-10 network: He init and ReLU (modern), unit normal and sigmoid (classic). */
function mlp(nn, modern, rng) {
  const init = modern ? 'he' : 'normal';
  const activation = () => (modern ? new nn.ReLU() : new nn.Sigmoid());
  const layers = [
    new nn.Linear(PIXELS, 16, { rng, init }),
    activation(),
    new nn.Linear(16, 16, { rng, init }),
    activation(),
    new nn.Linear(16, 10, { rng, init }),
  ];
  if (!modern) layers.push(new nn.Sigmoid());
  return new nn.Sequential(...layers);
}

/** The small CNN with PyTorch's layer names and arguments, each layer's default init. */
function smallCnn(nn, rng) {
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 5, { rng }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 5, { rng }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(16 * 4 * 4, 10, { rng }),
  );
}

/** The package's module, or why it cannot be used yet (not written or not built). */
async function importBuilt(name) {
  try {
    return await import(name);
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
      return `${name} is not built (run pnpm build): ${error.message.split('\n')[0]}`;
    }
    throw error;
  }
}
