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
 * Whether a live bar may redraw itself on `stream`: a terminal that
 * understands cursor control (not `TERM=dumb`), and no `NO_COLOR` request
 * for plain output. Otherwise the per-epoch lines are the whole report.
 */
export function canRedraw(stream: NodeJS.WriteStream): boolean {
  const { TERM, NO_COLOR } = process.env;
  return stream.isTTY === true && TERM !== 'dumb' && (NO_COLOR === undefined || NO_COLOR === '');
}

/**
 * The live per-epoch progress bar, on stderr so stdout stays clean for
 * results (`--json`). Where the stream cannot redraw (see `canRedraw`) it
 * draws nothing.
 */
export class EpochBar {
  private readonly bar: SingleBar | null;
  private started = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    if (!canRedraw(stream)) {
      this.bar = null;
      return;
    }
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
    if (!this.bar) return;
    this.bar.start(batches, 0, { epoch, loss: '-', acc: '-', speed: '-' });
    this.started = true;
  }

  update(p: BatchProgress): void {
    this.bar?.update(p.batch, {
      loss: p.loss.toFixed(4),
      acc: `${(p.accuracy * 100).toFixed(1)}%`,
      speed: Math.round(p.samplesPerSecond).toLocaleString('en-US'),
    });
  }

  stop(): void {
    if (this.started) this.bar?.stop();
    this.started = false;
  }
}
