import { MemoryFileSystem } from './memfs.js';
import { ReadOnlyFileSystem } from './readonly.js';
import { UnionFileSystem } from './union.js';
import { runReadOnlyContract } from './fs.case.test.js';

runReadOnlyContract('ReadOnlyFileSystem over memfs', (tree) => ({
  fs: new ReadOnlyFileSystem(new MemoryFileSystem({ tree })),
  seeded: true,
}));

runReadOnlyContract('UnionFileSystem with a read-only upper', (tree) => ({
  fs: new UnionFileSystem([new MemoryFileSystem({ tree })], new MemoryFileSystem({ readOnly: true })),
  seeded: true,
}));
