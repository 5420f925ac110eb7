/**
 * The minimal page `capsule serve` shows at /run/NAME[@VERSION]: a terminal
 * element, an input line, and state export/import. It is also the browser
 * runtime's bundle entry, so it publishes the API as `window.capsule` for
 * the web console (which will swap the <pre> for xterm.js) and for tests.
 *
 *   /run/sqlite?arg=/notes.db&arg=-echo      arguments, in order (none: the manifest's)
 *   #token=cap_...                            a token, kept in localStorage and removed from the URL
 *   ?state=indexeddb                          force IndexedDB instead of OPFS
 *
 * Everything the app prints goes in with textContent: app output is never markup.
 */
import {
  connect,
  type BrowserRuntime,
  type BrowserSession,
  type Credentials,
  type ExitInfo,
} from './session.js';
import * as api from './index.js';

const TOKEN_KEY = 'capsule.token';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const terminal = $<HTMLPreElement>('terminal');
const status = $<HTMLSpanElement>('status');
const stateStatus = $<HTMLSpanElement>('state-status');
const input = $<HTMLInputElement>('stdin');
const controls = ['stdin', 'send', 'eof', 'stop'].map((id) => $<HTMLInputElement>(id));

function print(text: string, cls?: string): void {
  const atBottom = terminal.scrollTop + terminal.clientHeight >= terminal.scrollHeight - 4;
  const span = document.createElement('span');
  if (cls) span.className = cls;
  span.textContent = text;
  terminal.append(span);
  if (atBottom) terminal.scrollTop = terminal.scrollHeight;
}

function setStatus(text: string, state: string): void {
  status.textContent = text;
  document.body.dataset.state = state;
}

function describeExit(r: ExitInfo): string {
  switch (r.kind) {
    case 'exit':
      return `exited with code ${r.code}`;
    case 'trap':
      return `trapped: ${r.reason}${r.func ? ` in ${r.func}` : ''}`;
    case 'fail':
      return `failed (${r.code}): ${r.message}`;
    case 'stopped':
      return 'stopped';
  }
}

function credentials(): Credentials {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    localStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { token } : 'cookie';
}

function askForToken(why: string): void {
  const form = $<HTMLFormElement>('signin');
  $<HTMLParagraphElement>('signin-why').textContent = why;
  form.hidden = false;
  form.onsubmit = (e) => {
    e.preventDefault();
    localStorage.setItem(TOKEN_KEY, $<HTMLInputElement>('token').value.trim());
    location.reload();
  };
}

const app = decodeURIComponent(location.pathname.replace(/^\/run\//, ''));
const query = new URLSearchParams(location.search);
const args = query.getAll('arg');
const prefer = query.get('state');
$<HTMLSpanElement>('app').textContent = app;
document.title = `${app} · Capsule`;

let runtime: BrowserRuntime;
let session: BrowserSession | null = null;

async function run(): Promise<void> {
  controls.forEach((c) => (c.disabled = true));
  $<HTMLButtonElement>('restart').disabled = true;
  setStatus(`starting ${app}…`, 'starting');
  try {
    session = await runtime.start(app, args, {
      onStdout: (t) => print(t),
      onStderr: (t) => print(t, 'err'),
      onStateSaved: (bytes) => {
        stateStatus.dataset.saves = String(Number(stateStatus.dataset.saves) + 1);
        stateStatus.textContent = `state saved (${bytes} bytes, ${runtime.storage.kind})`;
      },
      onExit: (r) => {
        setStatus(`${session?.name}@${session?.version}: ${describeExit(r)}`, 'ended');
        controls.forEach((c) => (c.disabled = true));
        $<HTMLButtonElement>('restart').disabled = false;
      },
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    setStatus(err.message ?? String(e), 'refused');
    print(`capsule: ${err.message ?? String(e)}\n`, 'err');
    if (err.code === 'UNAUTHORIZED') askForToken(err.message ?? '');
    $<HTMLButtonElement>('restart').disabled = false;
    return;
  }
  setStatus(`${session.name}@${session.version} running as ${session.user}`, 'running');
  controls.forEach((c) => (c.disabled = false));
  input.focus();
}

function wire(): void {
  $<HTMLFormElement>('input-form').onsubmit = (e) => {
    e.preventDefault();
    if (!session) return;
    print(`${input.value}\n`, 'echo');
    session.write(`${input.value}\n`);
    input.value = '';
  };
  $<HTMLButtonElement>('eof').onclick = () => session?.closeStdin();
  $<HTMLButtonElement>('stop').onclick = () => session?.stop();
  $<HTMLButtonElement>('restart').onclick = () => void run();
  $<HTMLButtonElement>('export').onclick = async () => {
    try {
      const name = session?.name ?? app.split('@')[0]!;
      const bytes = await runtime.exportState(name);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
      a.download = `${name}.capstate`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      stateStatus.textContent = `state exported (${bytes.length} bytes)`;
    } catch (e) {
      stateStatus.textContent = `export failed: ${(e as Error).message}`;
    }
  };
  $<HTMLInputElement>('import').onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    try {
      const name = session?.name ?? app.split('@')[0]!;
      const r = await runtime.importState(name, new Uint8Array(await file.arrayBuffer()));
      stateStatus.textContent = `state imported (${r.entries} entries); it is used from the next run`;
    } catch (err) {
      stateStatus.textContent = `import refused: ${(err as Error).message}`;
    }
  };
  $<HTMLButtonElement>('reset').onclick = async () => {
    await runtime.resetState(session?.name ?? app.split('@')[0]!);
    stateStatus.textContent = 'state reset; it is empty from the next run';
  };
}

// The API, and this page's runtime and session (for the console and for tests).
(window as unknown as { capsule: unknown }).capsule = {
  ...api,
  get runtime() {
    return runtime;
  },
  get session() {
    return session;
  },
};
if (!globalThis.crossOriginIsolated) {
  setStatus('this page is not cross-origin isolated (COOP/COEP headers missing): cannot run apps', 'refused');
} else {
  try {
    runtime = connect({
      credentials: credentials(),
      storage: prefer === 'indexeddb' || prefer === 'opfs' ? prefer : undefined,
    });
    wire();
    void run();
  } catch (e) {
    setStatus((e as Error).message, 'refused');
  }
}
