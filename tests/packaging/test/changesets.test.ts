import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A changeset that does not parse stops `changeset version` for every package, and one
// that names a private or misspelt package is refused only at release time: check both now.

const changesetDir = fileURLToPath(new URL('../../../.changeset/', import.meta.url));
const publishable = [
  '@neurite/tensor',
  '@neurite/nn',
  '@neurite/data',
  '@neurite/onnx',
  '@neurite/mnist-embedded',
];

const changesets = readdirSync(changesetDir)
  .filter((file) => file.endsWith('.md') && file !== 'README.md')
  .map((file) => ({ file, text: readFileSync(`${changesetDir}${file}`, 'utf8') }));

/** The releases in a changeset's front matter, or a description of what is wrong with it. */
function releasesOf(text: string): Record<string, string> | string {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
  if (!match) return 'no front matter: the file must start with a line "---"';
  const releases: Record<string, string> = {};
  for (const line of (match[1] ?? '').split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const release = /^\s*["']([^"']+)["']\s*:\s*(patch|minor|major)\s*$/.exec(line);
    if (!release) return `front matter line ${JSON.stringify(line)} is not "package": bump`;
    releases[release[1] ?? ''] = release[2] ?? '';
  }
  if ((match[2] ?? '').trim() === '') return 'no summary after the front matter';
  return releases;
}

describe.runIf(changesets.length > 0)('pending changesets', () => {
  it.each(changesets)('$file names published packages and a bump', ({ text }) => {
    const releases = releasesOf(text);
    expect(typeof releases === 'string' ? releases : 'parses').toBe('parses');
    for (const name of Object.keys(releases)) expect(publishable).toContain(name);
  });
});

describe('the changeset check itself', () => {
  it('refuses front matter that a formatter turned into a heading', () => {
    expect(releasesOf('---\n\n## "@neurite/data": minor\n\nText.\n')).toMatch(/front matter/);
  });

  it('refuses an unknown bump and an empty summary', () => {
    expect(releasesOf('---\n"@neurite/nn": huge\n---\n\nText.\n')).toMatch(/not "package": bump/);
    expect(releasesOf('---\n"@neurite/nn": patch\n---\n\n')).toMatch(/no summary/);
  });

  it('reads several packages with their bumps', () => {
    const text = '---\n"@neurite/tensor": minor\n\'@neurite/nn\': patch\n---\n\nText.\n';
    expect(releasesOf(text)).toEqual({ '@neurite/tensor': 'minor', '@neurite/nn': 'patch' });
  });
});
