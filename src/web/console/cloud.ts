/**
 * "Run in cloud": the app runs on the server, and this page is its terminal
 * (xterm.js) over the WebSocket protocol of docs/cloud.md, signed in by the
 * console's cookie. xterm renders everything the app prints as terminal
 * text, never as HTML. The session id goes into the page's URL as soon as
 * the server names it, so a reload attaches again and the server replays
 * what its buffer holds (since=0).
 *
 * Keyboard: the terminal takes Tab for the app; Escape then Tab leaves it.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { enc, post } from './api.js';
import { announce, h } from './dom.js';
import { filePane } from './files.js';
import type { PageContext } from './main.js';

const SUBPROTOCOL = 'capsule.terminal.v1';

interface SessionMessage {
  type: 'session';
  id: string;
  app: string;
  version: string;
  replay: { from: number; to: number; lost: number };
}
interface ExitMessage {
  type: 'exit';
  code: number;
  reason: string;
  message?: string;
}

export async function cloudPage(ctx: PageContext): Promise<void> {
  const target = ctx.params[0] ?? '';
  const app = target.split('@')[0]!;
  const args = ctx.query.getAll('arg');
  let sessionId = ctx.query.get('session');

  const status = h('span', { class: 'badge', id: 'session-status' }, 'connecting…');
  const heading = h('h1', {}, `${target || app} in the cloud`);
  const screen = h('div', {
    class: 'terminal',
    id: 'terminal',
    role: 'region',
    'aria-label': `Terminal of ${app}`,
  });
  const endButton = h('button', { type: 'button', class: 'danger', disabled: true }, 'End session');
  const again = h(
    'a',
    {
      class: 'button',
      href: `#/cloud/${enc(target)}${args.length ? `?${args.map((a) => `arg=${enc(a)}`).join('&')}` : ''}`,
      hidden: true,
    },
    'Run again',
  );
  const exitNote = h('p', { class: 'exit', role: 'status', hidden: true });
  const pane = filePane(app);
  ctx.main.append(
    h('div', { class: 'page-head' }, heading, status),
    h('p', { class: 'muted hint' }, 'Type into the terminal. Escape then Tab moves focus out of it.'),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        { class: 'term-col' },
        screen,
        exitNote,
        h(
          'div',
          { class: 'actions' },
          endButton,
          again,
          h('a', { class: 'button quiet', href: '#/catalog' }, 'Back to apps'),
        ),
      ),
      pane.el,
    ),
  );

  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    screenReaderMode: true,
    theme: {
      background: '#0f1522',
      foreground: '#e6e9ef',
      cursor: '#8fb0ff',
      selectionBackground: '#3b4a6b',
    },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  fit.fit();
  let escaped = false;
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    if (e.key === 'Tab' && escaped) {
      escaped = false;
      return false; // leave it to the browser: focus moves on
    }
    escaped = e.key === 'Escape';
    return true;
  });

  let ws: WebSocket | null = null;
  let offset = 0;
  let ended = false;
  let retries = 0;
  const encoder = new TextEncoder();

  const setStatus = (text: string, kind = '') => {
    status.textContent = text;
    status.className = `badge ${kind}`;
  };

  const connect = (since: number) => {
    const q = new URLSearchParams();
    let path: string;
    if (sessionId) {
      path = `/terminal/${enc(sessionId)}`;
      q.set('since', String(since));
    } else {
      path = '/terminal';
      q.set('app', target);
      for (const a of args) q.append('arg', a);
      q.set('tty', '1');
      q.set('cols', String(term.cols));
      q.set('rows', String(term.rows));
    }
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}?${q}`;
    const sock = new WebSocket(url, SUBPROTOCOL);
    ws = sock;
    sock.binaryType = 'arraybuffer';
    let opened = false;
    sock.onopen = () => {
      opened = true;
      retries = 0;
    };
    sock.onmessage = (m) => {
      if (typeof m.data === 'string') {
        const msg = JSON.parse(m.data) as SessionMessage | ExitMessage;
        if (msg.type === 'session') {
          sessionId = msg.id;
          offset = msg.replay.from;
          heading.textContent = `${msg.app}@${msg.version} in the cloud`;
          // The URL now names the session: a reload attaches to it again.
          history.replaceState(
            null,
            '',
            `#/cloud/${enc(`${msg.app}@${msg.version}`)}?session=${enc(msg.id)}`,
          );
          setStatus('running', 'ok');
          endButton.disabled = false;
          if (msg.replay.lost > 0)
            term.write(`\r\n[${msg.replay.lost} bytes of earlier output are no longer kept]\r\n`);
        } else if (msg.type === 'exit') {
          ended = true;
          const text = `${app} ${msg.reason === 'exit' ? `exited with code ${msg.code}` : `ended (${msg.reason}${msg.message ? `: ${msg.message}` : ''}, code ${msg.code})`}`;
          setStatus(msg.code === 0 ? 'finished' : 'ended', msg.code === 0 ? 'ok' : 'warn');
          exitNote.textContent = text;
          exitNote.hidden = false;
          endButton.disabled = true;
          again.hidden = false;
          announce(text);
          void pane.refresh();
        }
        return;
      }
      const bytes = new Uint8Array(m.data as ArrayBuffer);
      offset += bytes.length - 1;
      term.write(bytes.subarray(1));
    };
    sock.onclose = (e) => {
      if (ws !== sock || ended) return;
      endButton.disabled = true;
      if (!opened) {
        // Refused before the handshake (not entitled, a session that is gone, a cap): the browser hides the status.
        setStatus('not started', 'warn');
        exitNote.textContent = sessionId
          ? 'This session is no longer available. It may have ended, or belong to someone else.'
          : `The server refused to start ${target}: you may have too many sessions running, or no access to it.`;
        exitNote.hidden = false;
        again.hidden = false;
        return;
      }
      if (e.code === 4001) {
        setStatus('taken over', 'warn');
        exitNote.textContent = 'This session was opened in another tab or window.';
        exitNote.hidden = false;
        return;
      }
      if (retries++ < 6) {
        setStatus('reconnecting…', 'warn');
        setTimeout(() => connect(offset), 250 * retries);
      } else setStatus('disconnected', 'warn');
    };
  };

  term.onData((d) => {
    if (ws?.readyState !== WebSocket.OPEN) return;
    const bytes = encoder.encode(d);
    const msg = new Uint8Array(bytes.length + 1);
    msg.set(bytes, 1);
    ws.send(msg);
  });
  term.onResize(({ cols, rows }) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  });
  const onWindowResize = () => fit.fit();
  window.addEventListener('resize', onWindowResize);

  endButton.addEventListener('click', () => {
    if (!sessionId) return;
    endButton.disabled = true;
    post(`/sessions/${enc(sessionId)}/end`).catch((e: Error) => announce(e.message, 'error'));
  });

  ctx.onLeave(() => {
    ended = true;
    window.removeEventListener('resize', onWindowResize);
    ws?.close(1000, 'the page was left');
    term.dispose();
  });
  connect(0);
  void pane.refresh();
  term.focus();
}
