// Preloaded with `node --import` into a process whose memory bench/memory.mjs
// measures: samples the resident set every 200 ms and, as the process exits,
// writes its peak (the kernel's maxRSS) and the samples as JSON to the file
// named by NEURITE_RSS_OUT.
import { writeFileSync } from 'node:fs';

const out = process.env.NEURITE_RSS_OUT;
if (out) {
  const start = performance.now();
  const samples = [];
  const sample = () => {
    samples.push([Math.round(performance.now() - start), process.memoryUsage.rss()]);
  };
  sample();
  setInterval(sample, 200).unref();
  process.on('exit', (code) => {
    sample();
    writeFileSync(
      out,
      JSON.stringify({ code, peakRss: process.resourceUsage().maxRSS * 1024, samples }),
    );
  });
}
