// A character-level language model (three characters → Embedding → flatten →
// dense → logits of the next one) trained on names generated from syllables,
// then sampling new names with categorical. Saves, reloads and resumes,
// checking that resuming matches training straight through.
//   pnpm char-lm --epochs 10
import { parseArgs } from 'node:util';
import { Adam, Dense, Embedding, Flatten, fit, type Module, Sequential } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import { categorical, Rng, type Tensor, tensor } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    resume: { type: 'string', default: '1' }, // epochs trained after the checkpoint, twice
    names: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'char-lm.safetensors' },
  },
});
const [epochs, resume, count, seed] = [flag.epochs, flag.resume, flag.names, flag.seed].map(
  Number,
) as [number, number, number, number];

// The word list: 2-3 syllables of onset + vowel, sometimes a final consonant.
const rng = new Rng(seed);
const pick = (xs: string[]) => xs[rng.int(xs.length)]!;
const [onsets, vowels, codas] = [
  'b d f g k l m n r s t v z br dr kr st th sh',
  'a e i o u a e i ai ei ia',
  'n r l s',
].map((s) => s.split(' ')) as [string[], string[], string[]];
const words = Array.from({ length: count }, () => {
  let w = '';
  for (let s = 2 + rng.int(2); s > 0; s--) w += pick(onsets) + pick(vowels);
  return rng.float() < 0.4 ? w + pick(codas) : w;
});

// '.' (token 0) pads the start and marks the end; every position gives (context, next).
const block = 3;
const token = (c: string) => (c === '.' ? 0 : c.charCodeAt(0) - 96);
const [contexts, next] = [[] as number[], [] as number[]];
for (const w of words) {
  const ctx = Array(block).fill(0);
  for (const c of `${w}.`) {
    contexts.push(...ctx);
    next.push(token(c));
    ctx.push(token(c));
    ctx.shift();
  }
}
const x = tensor(Int32Array.from(contexts), { shape: [next.length, block], dtype: 'int32' });
const y = tensor(Int32Array.from(next), { dtype: 'int32' });

const languageModel = (r: number) =>
  new Sequential(
    new Embedding(27, 10, { rng: r }),
    new Flatten(),
    new Dense(block * 10, 128, { activation: 'tanh', rng: r + 1 }),
    new Dense(128, 27, { rng: r + 2 }),
  );
const train = (model: Module, optimizer: Adam, to: number, from = 0) =>
  fit(model, [x, y], {
    loss: 'crossEntropy',
    optimizer,
    epochs: to,
    initialEpoch: from,
    batchSize: 64,
    seed,
  });
const bits = (m: Module) =>
  JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.data)));
const outputs = (m: Module) => JSON.stringify(Array.from((m.forward(x) as Tensor).data));

const model = languageModel(seed);
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const loss = (await train(model, optimizer, epochs)).history.loss!.at(-1)!;
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed } });

const reloaded = languageModel(seed + 100); // other weights, overwritten by the checkpoint
const reloadedOptimizer = new Adam(reloaded.parameters(), { lr: 3e-3 });
await loadCheckpoint(flag.out, { into: reloaded, optimizer: reloadedOptimizer });
if (outputs(model) !== outputs(reloaded))
  throw new Error('the reloaded model does not give the same outputs');
const sampler = new Rng(seed + 1); // names sampled from the checkpoint, before resuming
const sample = (ctx: number[] = Array(block).fill(0), name = ''): string => {
  const logits = reloaded.forward(tensor([ctx], { dtype: 'int32' })) as Tensor;
  const t = categorical(logits, { rng: sampler }).item(); // the next character, 0 to end
  if (t === 0 || name.length === 16) return name;
  return sample([...ctx.slice(1), t], name + String.fromCharCode(96 + t));
};
const samples = Array.from({ length: 12 }, () => sample());

// Resume: the reloaded copy and the original both train `resume` more epochs.
await train(model, optimizer, epochs + resume, epochs);
await train(reloaded, reloadedOptimizer, epochs + resume, epochs);
const identical = bits(model) === bits(reloaded);

const known = new Set(words);
console.log(
  `final training loss ${loss.toFixed(4)} nats per character (uniform: ${Math.log(27).toFixed(4)})`,
);
console.log(
  `samples: ${samples.join(' ')} (${samples.filter((s) => !known.has(s)).length} of ${samples.length} not in the word list)`,
);
console.log(
  `resumed from ${flag.out} for ${resume} epochs: ${identical ? 'bit-identical' : 'DIFFERENT'} to training straight through`,
);
if (!identical)
  throw new Error('resuming from the checkpoint did not match training straight through');
