import { SingleBar } from 'cli-progress';

/** What the bar shows after each batch. */
export interface BatchProgress {
  readonly batch: number;
  readonly batches: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly samplesPerSecond: number;
}

/**
 * The live per-epoch progress bar, on stderr so stdout stays clean for
 * results (`--json`). On a non-terminal stream it draws nothing.
 */
export class EpochBar {
  private readonly bar: SingleBar;
  private started = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.bar = new SingleBar({
      stream,
      format:
        'epoch {epoch} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {speed} samples/s | ETA {eta_formatted}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    });
  }

  start(epoch: string, batches: number): void {
    this.bar.start(batches, 0, { epoch, loss: '-', acc: '-', speed: '-' });
    this.started = true;
  }

  update(p: BatchProgress): void {
    this.bar.update(p.batch, {
      loss: p.loss.toFixed(4),
      acc: `${(p.accuracy * 100).toFixed(1)}%`,
      speed: Math.round(p.samplesPerSecond).toLocaleString('en-US'),
    });
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}
