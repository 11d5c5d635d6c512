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
const pick = (list: string, xs = list.split(' ')) => xs[rng.int(xs.length)]!;
const onsets = 'b d f g k l m n r s t v z br dr kr st th sh';
const vowels = 'a e i o u a e i ai ei ia';
const words = Array.from({ length: count }, () => {
  let w = '';
  for (let s = 2 + rng.int(2); s > 0; s--) w += pick(onsets) + pick(vowels);
  return rng.float() < 0.4 ? w + pick('n r l s') : w;
});
// '.' (token 0) pads the start and marks the end; every position gives (context, next).
const block = 3;
const token = (c: string) => (c === '.' ? 0 : c.charCodeAt(0) - 96);
const pairs: number[] = []; // rows of `block` context tokens, then the next token
for (const w of words) {
  const ids = [...Array(block).fill(0), ...[...`${w}.`].map(token)];
  for (let i = block; i < ids.length; i++) pairs.push(...ids.slice(i - block, i + 1));
}
const rows = tensor(Int32Array.from(pairs), { dtype: 'int32' }).reshape([-1, block + 1]);
const [x, y] = [rows.narrow(1, 0, block), rows.narrow(1, block, 1).reshape([-1])];

const languageModel = (r: number) =>
  new Sequential(
    new Embedding(27, 10, { rng: r }),
    new Flatten(),
    new Dense(block * 10, 128, { activation: 'tanh', rng: r + 1 }),
    new Dense(128, 27, { rng: r + 2 }),
  );
const options = { loss: 'crossEntropy', batchSize: 64, seed } as const;
const train = (model: Module, optimizer: Adam, to: number, from = 0) =>
  fit(model, [x, y], { ...options, optimizer, epochs: to, initialEpoch: from });
const bits = (m: Module) => JSON.stringify(Object.values(m.stateDict()).map((t) => [...t.data]));

const model = languageModel(seed);
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
const loss = (await train(model, optimizer, epochs)).history.loss!.at(-1)!;
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed } });

// A model and optimiser made anew (other weights) load the checkpoint and sample names.
const copy = languageModel(seed + 100);
const copyOptimizer = new Adam(copy.parameters(), { lr: 3e-3 });
await loadCheckpoint(flag.out, { into: copy, optimizer: copyOptimizer });
const sampler = new Rng(seed + 1);
const sample = (ctx: number[] = Array(block).fill(0), name = ''): string => {
  const logits = copy.forward(tensor([ctx], { dtype: 'int32' })) as Tensor;
  const t = categorical(logits, { rng: sampler }).item(); // the next character, 0 to end
  if (t === 0 || name.length === 16) return name;
  return sample([...ctx.slice(1), t], name + String.fromCharCode(96 + t));
};
const samples = Array.from({ length: 12 }, () => sample());
// Both train on: the copy must follow the original bit for bit.
await train(model, optimizer, epochs + resume, epochs);
await train(copy, copyOptimizer, epochs + resume, epochs);
if (bits(model) !== bits(copy)) throw new Error('the resumed copy did not train as the original');

const known = new Set(words);
console.log(
  `final training loss ${loss.toFixed(4)} nats per character (uniform: ${Math.log(27).toFixed(4)})`,
);
console.log(
  `samples: ${samples.join(' ')} (${samples.filter((s) => !known.has(s)).length} of 12 not in the word list)`,
);
console.log(`resumed for ${resume} epochs: bit-identical to training straight through`);
