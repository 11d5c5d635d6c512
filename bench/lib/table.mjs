// The plain-text summary printed after the JSON lines.

const fmtNumber = (x, digits) =>
  x === undefined || x === null
    ? ''
    : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits });
const fmtRatio = (x) => (x === undefined ? '' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);

/** Renders result lines (as printed, ratios included) as an aligned table. */
export function summaryTable(results) {
  const header = [
    'recipe',
    'impl',
    'batch',
    'epoch s',
    'samples/s',
    'vs pytorch',
    'vs tfjs-wasm',
    'peak RSS MB',
    'loss',
    'test acc',
  ];
  const rows = results.map((r) => {
    if (r.skipped || r.error) {
      return [
        r.recipe ?? '',
        r.impl,
        '',
        r.skipped ? `skipped: ${r.skipped}` : `error: ${r.error}`,
      ];
    }
    return [
      r.recipe,
      r.impl === 'pytorch' && r.threads ? `pytorch (${r.threads} thr)` : r.impl,
      r.batch === undefined ? '' : String(r.batch),
      fmtNumber(r.epoch_s, r.epoch_s < 0.1 ? 4 : 3),
      fmtNumber(r.samples_per_s, 0),
      fmtRatio(r.impl === 'pytorch' ? undefined : r.ratio_vs_pytorch),
      fmtRatio(r.impl === 'tfjs-wasm' ? undefined : r['ratio_vs_tfjs-wasm']),
      fmtNumber(r.peak_rss_mb, 0),
      r.loss === undefined ? '' : fmtNumber(r.loss, 4),
      fmtNumber(r.test_acc ?? r.accuracy, 4),
    ];
  });
  // A skipped row's reason runs across the figures, but its recipe and impl still align.
  const widths = header.map((h, i) =>
    Math.max(
      h.length,
      ...rows.filter((row) => i < 2 || row.length === header.length).map((row) => row[i].length),
    ),
  );
  const numeric = new Set([2, 3, 4, 5, 6, 7, 8, 9]);
  const render = (row) => {
    if (row.length < header.length) {
      // A skipped or failed run: its reason runs across the remaining columns.
      return [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[3]].join('  ');
    }
    return row
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  };
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const lines = [render(header), rule];
  let lastRecipe;
  for (const row of rows) {
    if (lastRecipe !== undefined && row[0] !== lastRecipe) lines.push('');
    lastRecipe = row[0];
    lines.push(render(row));
  }
  return lines.join('\n');
}
