/**
 * The file pane: the files in the user's server-side state of an app (what
 * cloud sessions wrote, what the user uploaded), with upload, download, and
 * in-page playback of audio, video and images (Flite's WAV plays here).
 */
import { ApiError, call, enc, get } from './api.js';
import { announce, field, formatBytes, formatTime, h } from './dom.js';
import type { PageContext } from './main.js';

interface StateFile {
  path: string;
  size: number;
  modified: string;
}

const MEDIA = /\.(wav|mp3|ogg|flac)$/i;

export function filePane(app: string): { el: HTMLElement; refresh: () => Promise<void> } {
  const list = h('div', { class: 'files', 'aria-live': 'polite' });
  const fileUrl = (p: string, inline = false) =>
    `/state/${enc(app)}/file?path=${enc(p)}${inline ? '&inline=1' : ''}`;
  const refresh = async () => {
    let files: StateFile[];
    try {
      files = (await get<{ files: StateFile[] }>(`/state/${enc(app)}/files`)).files;
    } catch (e) {
      list.replaceChildren(h('p', { class: 'error' }, (e as ApiError).message));
      return;
    }
    if (files.length === 0) {
      list.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          `No files yet. What ${app} writes in the cloud, and what you upload, shows here.`,
        ),
      );
      return;
    }
    list.replaceChildren(
      h(
        'ul',
        { class: 'file-list', 'aria-label': `Files of ${app}` },
        ...files.map((f) =>
          h(
            'li',
            { 'data-path': f.path },
            h(
              'div',
              { class: 'file-head' },
              h('span', { class: 'path' }, f.path),
              h('span', { class: 'muted' }, `${formatBytes(f.size)} · ${formatTime(f.modified)}`),
              h(
                'a',
                {
                  class: 'button',
                  href: fileUrl(f.path),
                  download: f.path.split('/').pop()!,
                  'aria-label': `Download ${f.path}`,
                },
                'Download',
              ),
            ),
            MEDIA.test(f.path)
              ? h('audio', {
                  controls: true,
                  preload: 'metadata',
                  src: fileUrl(f.path, true),
                  'aria-label': `Play ${f.path}`,
                })
              : null,
          ),
        ),
      ),
    );
  };

  const input = h('input', { type: 'file', name: 'upload' });
  const folder = h('input', { name: 'folder', value: '/', spellcheck: 'false' });
  const button = h('button', { type: 'submit' }, 'Upload');
  const form = h(
    'form',
    { class: 'upload row' },
    field('File to upload', input),
    field('Into folder', folder),
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const file = input.files?.[0];
    if (!file) {
      announce('Choose a file to upload first.', 'error');
      input.focus();
      return;
    }
    const dir = folder.value.trim().replace(/\/+$/, '');
    const path = `${dir.startsWith('/') ? dir : `/${dir}`}/${file.name}`.replace(/^\/\//, '/');
    button.disabled = true;
    call('PUT', `/state/${enc(app)}/file?path=${enc(path)}`, undefined, {
      bytes: file,
      type: 'application/octet-stream',
    })
      .then(() => {
        announce(`Uploaded ${path}`);
        input.value = '';
        return refresh();
      })
      .catch((err: Error) => announce(`Upload failed: ${err.message}`, 'error'))
      .finally(() => (button.disabled = false));
  });
  const refreshButton = h(
    'button',
    { type: 'button', class: 'quiet', onclick: () => void refresh() },
    'Refresh',
  );
  const el = h(
    'section',
    { class: 'card pane', 'aria-labelledby': `files-${app}` },
    h('div', { class: 'pane-head' }, h('h2', { id: `files-${app}` }, 'Files'), refreshButton),
    list,
    form,
  );
  return { el, refresh };
}

export async function filesPage(ctx: PageContext): Promise<void> {
  const app = ctx.params[0] ?? '';
  ctx.main.append(
    h('h1', {}, `Files of ${app}`),
    h(
      'p',
      { class: 'muted' },
      'Your state of this app on the server: cloud sessions start with these files and keep what they write.',
    ),
  );
  const pane = filePane(app);
  ctx.main.append(pane.el);
  await pane.refresh();
}
