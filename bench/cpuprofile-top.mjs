// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the
// most self time, and the most inclusive time, with their file:line.
//
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [N]\n');
  process.exit(2);
}
process.stdout.on('error', () => process.exit(0)); // `| head` is fine
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

// Sample time per node: the gaps between timestamps, credited to the sampled node.
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

const label = (node) => {
  const f = node.callFrame;
  const url = f.url
    ? f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:')
    : '';
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const selfBy = new Map();
const inclBy = new Map();
for (const [id, t] of self) {
  const node = byId.get(id);
  const key = label(node);
  selfBy.set(key, (selfBy.get(key) ?? 0) + t);
  // Inclusive: credit each distinct function on the stack once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    inclBy.set(k, (inclBy.get(k) ?? 0) + t);
  }
}
const show = (title, m) => {
  process.stdout.write(`${title}\n`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
    process.stdout.write(
      `${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}\n`,
    );
  }
};
process.stdout.write(`${file}: ${(total / 1000).toFixed(1)} ms sampled\n`);
show('self time:', selfBy);
show('inclusive time:', inclBy);
