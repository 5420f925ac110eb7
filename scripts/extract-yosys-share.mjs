// Writes the share/ tree that npm's @yowasp/yosys ships inside its resources
// module (text files inline, binary files as URLs next to it) out to a real
// directory, so that Yosys can be run by any WASI runtime with share/ granted.
import { mkdirSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const out = resolve(process.argv[2] ?? join(root, 'build/yosys/share'));
const resources = join(root, 'node_modules/@yowasp/yosys/gen/resources-yosys.js');
if (existsSync(join(out, 'techmap.v'))) process.exit(0);

const { filesystem } = await import(pathToFileURL(resources).href);
let files = 0;
function write(dir, tree) {
  mkdirSync(dir, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    if (name.includes('/') || name === '..' || name === '.')
      throw new Error(`unsafe name in share tree: ${name}`);
    const path = join(dir, name);
    if (typeof value === 'string') writeFileSync(path, value);
    else if (value instanceof URL) copyFileSync(fileURLToPath(value), path);
    else if (value instanceof Uint8Array) writeFileSync(path, value);
    else write(path, value);
    if (typeof value === 'string' || value instanceof URL || value instanceof Uint8Array) files++;
  }
}
write(out, filesystem.share);
console.log(`yosys share/: ${files} files in ${out}`);
