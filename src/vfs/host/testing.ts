/** Test support: a throwaway host directory under os.tmpdir(). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-vfs-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
