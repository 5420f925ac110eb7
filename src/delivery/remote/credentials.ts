/**
 * Tokens for servers, kept in $CAPSULE_HOME/credentials.json (0600):
 *   { "servers": { "http://host:port": "cap_..." } }
 * CAPSULE_TOKEN, when set, wins over the file for every server.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CapsuleHome } from '../../store/home.js';
import { normalizeServerUrl } from './client.js';

interface CredentialsFile {
  servers: Record<string, string>;
}

const fileOf = (home: CapsuleHome) => join(home.root, 'credentials.json');

function load(home: CapsuleHome): CredentialsFile {
  try {
    const v = JSON.parse(readFileSync(fileOf(home), 'utf8')) as Partial<CredentialsFile>;
    return { servers: typeof v.servers === 'object' && v.servers !== null ? v.servers : {} };
  } catch {
    return { servers: {} };
  }
}

export function saveToken(home: CapsuleHome, server: string, token: string): string {
  const file = fileOf(home);
  const creds = load(home);
  creds.servers[normalizeServerUrl(server)] = token;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

export function tokenFor(
  home: CapsuleHome,
  server: string,
  env: Record<string, string | undefined> = process.env,
): string | null {
  if (env.CAPSULE_TOKEN) return env.CAPSULE_TOKEN;
  return load(home).servers[normalizeServerUrl(server)] ?? null;
}
