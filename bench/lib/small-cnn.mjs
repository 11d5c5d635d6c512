/**
 * bench/run.mjs's small CNN with PyTorch's layer names and arguments, each
 * layer's default init: conv 5×5×8 → ReLU → max pool → conv 5×5×16 → ReLU →
 * max pool → dense 10. `nn` is @neurite/nn (of whichever build is measured).
 */
export function smallCnn(nn, rng) {
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
