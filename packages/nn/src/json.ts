// Untrusted JSON (a safetensors header, a spec inside a checkpoint) is
// scanned before JSON.parse sees it, for what JSON.parse lets through.

/**
 * Scans JSON text without recursion and reports the first structural fault
 * JSON.parse would not: nesting deeper than `maxDepth`, or a name given
 * twice in one object. Malformed JSON is left for JSON.parse to report.
 */
export function checkJsonStructure(text: string, maxDepth: number): string | null {
  const objects: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = objects.at(-1);
      if (expectKey && keys) {
        let name: string;
        try {
          name = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return null;
        }
        if (keys.has(name)) return `names '${name}' twice in one object (character ${i})`;
        keys.add(name);
      }
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      objects.push(c === '{' ? new Set() : null);
      if (objects.length > maxDepth) {
        return `nests deeper than ${maxDepth} levels (character ${i}); a safetensors header nests 3`;
      }
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      objects.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = objects.at(-1) instanceof Set;
    }
  }
  return null;
}

/**
 * The path to the first value nested deeper than `maxDepth` in an already
 * parsed value, found without recursion; null when there is none. Checkers
 * that walk a value recursively call this first, so that a hostile value
 * meets an error instead of the end of the stack.
 */
export function tooDeep(value: unknown, maxDepth: number): (string | number)[] | null {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= maxDepth) return path;
    for (const [k, child] of Object.entries(v)) {
      stack.push({ v: child, path: [...path, Array.isArray(v) ? Number(k) : k] });
    }
  }
  return null;
}
