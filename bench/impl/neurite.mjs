// neurite as its users write it: @neurite/nn layers, losses and optimisers on
// @neurite/tensor, imported from the packages' built dist. --mode eager runs
// the step as written; --mode compiled runs it through compile(step), in a
// loop written by hand; --mode fit trains with fit of @neurite/nn (which
// compiles the same step) on the same batches, to show what fit costs.
import { main, PIXELS, parseImplArgs, runImplementation } from '../lib/harness.mjs';
import { smallCnn } from '../lib/small-cnn.mjs';

main(async () => {
  const options = parseImplArgs(process.argv.slice(2), {
    mode: { type: 'string' },
    threads: { type: 'string' },
  });
  const mode = options.mode;
  if (mode !== 'eager' && mode !== 'compiled' && mode !== 'fit') {
    throw new Error(`--mode: '${mode}' is not one of eager, compiled, fit`);
  }
  const impl = `neurite-${mode}`;
  const T = await importBuilt('@neurite/tensor');
  const nn = await importBuilt('@neurite/nn');
  const D = await importBuilt('@neurite/data');

  await runImplementation(impl, options, ({ recipe, batch, seed, trainImages, trainLabels }) => {
    if (typeof T === 'string') return { skipped: T };
    if (typeof nn === 'string') return { skipped: nn };
    if (typeof D === 'string') return { skipped: D };
    if (mode === 'compiled' && typeof T.compile !== 'function') {
      return { skipped: 'compile() not available' };
    }
    if (mode === 'fit' && typeof nn.fit !== 'function') {
      return { skipped: 'fit is not in the built @neurite/nn' };
    }
    if (options.threads !== undefined) T.setThreads(Number(options.threads));
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
    const predictStep = mode === 'eager' ? classify : T.compile(classify);
    const input = (batch) => T.tensor(batch.x, { shape: inputShape(batch.size) });
    // Cross-entropy takes class labels (its int32 form), the classic recipe one-hot rows.
    const targetOf = (batch) =>
      classic
        ? T.tensor(batch.y, { shape: [batch.size, 10] })
        : T.tensor(batch.labels, { shape: [batch.size] });
    const predict = (xs, size) => predictStep(T.tensor(xs, { shape: inputShape(size) })).data;

    // Pinned memory, where the products read images in place: the test set placed once, and
    // each training batch gathered as users' loaders do, by DataLoader({ pinMemory: true }) of
    // @neurite/data from the images' bytes (pinned once, on the first batch), in the harness's
    // order (a Subset of the training split in that order, not shuffled by the loader).
    const place = (array) => T.tensor(array).pinMemory().data;
    const train = new D.MnistSplit(trainImages, trainLabels, 28, 28);
    const imageBatches = (order, count) => {
      const loader = new D.DataLoader(new D.Subset(train, order), {
        batchSize: batch,
        dropLast: true,
        pinMemory: true,
      });
      return (function* () {
        let b = 0;
        for (const [images] of loader.epoch(0)) {
          if (b++ === count) return;
          yield images.data;
        }
      })();
    };
    if (mode === 'fit') {
      // One fit call over every epoch (warm-up first), its data a loader of the harness's
      // batches: each epoch is timed from its first batch to its last, fit's work between
      // steps included, its one-off checks and tracing before the first step not.
      const trainEpochs = async (epochs) => {
        const seconds = [];
        const loader = {
          length: epochs.at(-1).count,
          batchSize: batch,
          *epoch(e) {
            const t0 = performance.now();
            for (const b of epochs[e].batches()) yield [input(b), targetOf(b)];
            seconds[e] = (performance.now() - t0) / 1000;
          },
        };
        const history = await nn.fit(model, loader, {
          loss: classic ? 'quadraticCost' : 'crossEntropy',
          optimizer,
          epochs: epochs.length,
        });
        return { seconds, loss: history.last.loss };
      };
      return { trainEpochs, predict, place, imageBatches, info: { threads: T.getThreads() } };
    }

    return {
      train(batch, wantLoss) {
        const loss = trainStep(input(batch), targetOf(batch));
        return wantLoss ? loss.item() : undefined;
      },
      predict,
      place,
      imageBatches,
      info: { threads: T.getThreads() },
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
