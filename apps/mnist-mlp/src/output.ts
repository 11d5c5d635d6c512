/**
 * Where a command's words go. Human-readable lines go to stdout, except
 * with `--json`, where stdout carries only the JSON result (as its last
 * line) and the human lines move to stderr.
 */
export class Output {
  constructor(readonly json: boolean) {}

  /** A human-readable line. */
  line(text = ''): void {
    (this.json ? process.stderr : process.stdout).write(`${text}\n`);
  }

  /** The machine-readable result: one JSON object on one line of stdout (NaN becomes null). */
  result(value: unknown): void {
    if (this.json)
      process.stdout.write(`${JSON.stringify(value, (_k, v) => (Number.isNaN(v) ? null : v))}\n`);
  }
}

/** 0.96123 → "96.12%". */
export function percent(fraction: number, digits = 2): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '-';
}

/** 13002 → "13,002". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as "4.2s" or "3m05s". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
}
