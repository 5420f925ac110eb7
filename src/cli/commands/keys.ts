import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '../../package/sign.js';
import { TrustStore } from '../../delivery/local/trust.js';
import { NAME_RE } from '../../package/types.js';
import { parseCommand } from '../argv.js';
import { CliError, ExitCode } from '../errors.js';
import { asCliError, openLocal } from '../context.js';

const keygenUsage = `Usage: capsule keygen NAME [--no-trust]

Makes an ed25519 signing key pair: $CAPSULE_HOME/keys/NAME.key (private,
readable by you only) and NAME.pub (share it). Sign packages with
'capsule pack ... --sign NAME'. Your new key is trusted on this machine
unless --no-trust is given; others trust it with 'capsule trust add NAME.pub'.`;

export async function keygen(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { 'no-trust': { type: 'boolean' } }, keygenUsage);
  if (values.help) {
    process.stdout.write(keygenUsage + '\n');
    return 0;
  }
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new CliError('expected one NAME', 125, undefined, keygenUsage);
  if (!NAME_RE.test(name))
    throw new CliError(`bad key name: ${name}`, 125, 'use lowercase letters, digits, ".", "_", "-"');
  const ctx = openLocal();
  const dir = join(ctx.home.root, 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, `${name}.key`);
  if (existsSync(keyPath))
    throw new CliError(`a key named ${name} exists already: ${keyPath}`, 125, 'pick another name');
  const pair = generateKeyPair();
  // wx: never overwrite a private key, even in a race.
  writeFileSync(keyPath, pair.privatePem, { mode: 0o600, flag: 'wx' });
  writeFileSync(join(dir, `${name}.pub`), pair.publicPem, { mode: 0o644 });
  if (!values['no-trust']) new TrustStore(ctx.home).add(pair.publicPem);
  process.stdout.write(
    `key ${name}: ${pair.keyId}\n  private ${keyPath}\n  public  ${join(dir, `${name}.pub`)}\n` +
      (values['no-trust'] ? '' : '  trusted on this machine\n'),
  );
  return 0;
}

const trustUsage = `Usage: capsule trust add FILE.pub | ls | rm KEY-ID

Manages the keys whose signatures this machine accepts for packages that
come from elsewhere (bundles, servers).`;

export async function trust(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean' } }, trustUsage);
  const [sub, arg] = positionals;
  if (values.help || !sub) {
    process.stdout.write(trustUsage + '\n');
    return values.help ? 0 : 125;
  }
  const store = new TrustStore(openLocal().home);
  try {
    if (sub === 'add') {
      if (!arg) throw new CliError('expected FILE.pub', 125, undefined, trustUsage);
      if (!existsSync(arg)) throw new CliError(`${arg}: no such file`, ExitCode.NOT_FOUND);
      const id = store.add(readFileSync(arg, 'utf8'));
      process.stdout.write(`trusted ${id}\n`);
      return 0;
    }
    if (sub === 'ls') {
      const keys = store.list();
      if (values.json)
        process.stdout.write(
          JSON.stringify(
            keys.map((k) => k.keyId),
            null,
            2,
          ) + '\n',
        );
      else
        process.stdout.write(keys.length ? keys.map((k) => k.keyId).join('\n') + '\n' : 'no trusted keys\n');
      return 0;
    }
    if (sub === 'rm') {
      if (!arg) throw new CliError('expected KEY-ID', 125, undefined, trustUsage);
      const removed = store.remove(arg);
      if (!removed) throw new CliError(`no single trusted key matches ${arg}`, 125, "see 'capsule trust ls'");
      process.stdout.write(`removed ${removed}\n`);
      return 0;
    }
    throw new CliError(`unknown trust command: ${sub}`, 125, undefined, trustUsage);
  } catch (e) {
    throw asCliError(e);
  }
}
