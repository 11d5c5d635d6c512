/**
 * The compiled training step the thread and A/B benches time: Adam (lr 1e-3)
 * on cross-entropy, `T` and `nn` being @neurite/tensor and @neurite/nn of
 * whichever build is measured. Returns step(x, labels) -> loss.
 */
export function adamStep(T, nn, model) {
  const optimizer = new nn.Adam(model.parameters(), { lr: 1e-3 });
  return T.compile((x, y) => {
    optimizer.zeroGrad();
    const loss = nn.crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  });
}
