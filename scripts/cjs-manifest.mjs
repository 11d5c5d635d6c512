// Marks a package's dist/cjs as CommonJS: the package itself is "type": "module",
// so without this Node would load the CommonJS build's .js files as ES modules.
import { writeFileSync } from 'node:fs';

writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
