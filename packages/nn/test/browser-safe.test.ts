import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('the main entry runs in a browser', () => {
  it('imports nothing Node-only outside src/node.ts, and index.ts does not reach node.ts', () => {
    const offenders: string[] = [];
    for (const file of sources(src)) {
      const name = relative(src, file);
      if (name === 'node.ts') continue;
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      for (const spec of imports) {
        if (
          spec.startsWith('node:') ||
          spec === 'fs' ||
          spec === 'path' ||
          spec.endsWith('/node.js')
        )
          offenders.push(`${name} imports ${spec}`);
      }
      for (const global of [/\bBuffer\b/, /\bprocess\./, /\b__dirname\b/, /\brequire\(/]) {
        if (global.test(text)) offenders.push(`${name} uses ${global.source}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
