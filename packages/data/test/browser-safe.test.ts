import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const IMPORT =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

/** Every source file the module graph from `entry` reaches, with the bare imports it makes. */
function graph(entry: string): {
  files: string[];
  bare: Set<string>;
  sources: Map<string, string>;
} {
  const files: string[] = [];
  const bare = new Set<string>();
  const sources = new Map<string, string>();
  const visit = (file: string) => {
    if (sources.has(file)) return;
    // Comments hold examples with imports; only code counts.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    sources.set(file, text);
    files.push(file);
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(join(src, entry));
  return { files, bare, sources };
}

describe('the main entry is browser-safe', () => {
  const main = graph('index.ts');

  it('imports no Node module, directly or through its files', () => {
    const builtins = new Set(builtinModules);
    const nodeOnly = [...main.bare].filter((s) => s.startsWith('node:') || builtins.has(s));
    expect(nodeOnly).toEqual([]);
    // The embedded digits are an optional package loaded at run time, not a dependency.
    expect([...main.bare].sort()).toEqual(['@neurite/tensor', 'fflate']);
    expect(main.files.map((f) => f.slice(src.length)).sort()).not.toContain('node.ts');
    expect(main.files.map((f) => f.slice(src.length))).not.toContain('download.ts');
  });

  it('uses no Node globals', () => {
    for (const [file, code] of main.sources) {
      expect(code, file).not.toMatch(/\b(Buffer|process|require|__dirname|__filename)\b/);
    }
  });

  it('the scan sees the Node entry for what it is', () => {
    const node = graph('node.ts');
    expect([...node.bare].filter((s) => s.startsWith('node:')).length).toBeGreaterThan(0);
  });
});
