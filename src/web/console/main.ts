/**
 * The web console (docs/console.md): sign-in, the catalog, cloud and
 * browser runs, the file pane and the admin pages, as one page routed by
 * the URL's fragment (#/catalog, #/cloud/sqlite, #/admin/users). Each page
 * is a function that renders into <main>; moving to a page moves keyboard
 * focus to its heading, so screen readers announce it.
 */
import { ApiError, get, post, setCsrf, type User } from './api.js';
import { announce, field, h } from './dom.js';
import { catalogPage } from './catalog.js';
import { cloudPage } from './cloud.js';
import { filesPage } from './files.js';
import { usersPage } from './admin-users.js';
import { appsPage } from './admin-apps.js';
import { policyPage } from './admin-policy.js';
import { auditPage, sessionsPage, usagePage } from './admin-ops.js';

export interface PageContext {
  user: User;
  main: HTMLElement;
  /** Path parameters after the page name, decoded: #/cloud/sqlite -> ['sqlite']. */
  params: string[];
  query: URLSearchParams;
  /** Registers cleanup for when the user leaves the page (close a socket, dispose a terminal). */
  onLeave(fn: () => void): void;
}

type Page = (ctx: PageContext) => Promise<void> | void;

const PAGES: Record<string, { page: Page; title: string; admin?: boolean; nav?: boolean }> = {
  catalog: { page: catalogPage, title: 'Apps', nav: true },
  cloud: { page: cloudPage, title: 'Cloud session' },
  files: { page: filesPage, title: 'Files' },
  'admin/users': { page: usersPage, title: 'Users and groups', admin: true, nav: true },
  'admin/apps': { page: appsPage, title: 'Versions', admin: true, nav: true },
  'admin/policy': { page: policyPage, title: 'Policy', admin: true, nav: true },
  'admin/sessions': { page: sessionsPage, title: 'Sessions', admin: true, nav: true },
  'admin/usage': { page: usagePage, title: 'Usage', admin: true, nav: true },
  'admin/audit': { page: auditPage, title: 'Audit log', admin: true, nav: true },
};

const main = document.getElementById('main')!;
const top = document.getElementById('top')!;
let user: User | null = null;
let leaving: (() => void)[] = [];
/** Bumped by every render: a page still loading when the user moved on renders into a detached element. */
let generation = 0;

function route(): { name: string; params: string[]; query: URLSearchParams } {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'catalog';
  const [path = '', q = ''] = hash.split('?', 2);
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const two = parts.slice(0, 2).join('/');
  if (parts[0] === 'admin' && PAGES[two])
    return { name: two, params: parts.slice(2), query: new URLSearchParams(q) };
  return { name: parts[0] ?? 'catalog', params: parts.slice(1), query: new URLSearchParams(q) };
}

function renderNav(active: string): void {
  const nav = document.getElementById('nav')!;
  const links: HTMLElement[] = Object.entries(PAGES)
    .filter(([, p]) => p.nav && (!p.admin || user?.role === 'admin'))
    .map(([name, p]) =>
      h(
        'a',
        {
          href: `#/${name}`,
          'aria-current': name === active ? 'page' : null,
          class: p.admin ? 'admin' : null,
        },
        p.title,
      ),
    );
  const adminStart = links.findIndex((a) => a.classList.contains('admin'));
  if (adminStart > 0)
    links.splice(adminStart, 0, h('span', { class: 'sep', 'aria-hidden': 'true' }, 'Admin'));
  nav.replaceChildren(...links);
}

async function show(): Promise<void> {
  for (const fn of leaving) fn();
  leaving = [];
  if (!user) return signIn();
  if (location.hash && !location.hash.startsWith('#/')) return; // an in-page anchor (the skip link)
  const r = route();
  const entry = PAGES[r.name];
  const gen = ++generation;
  top.hidden = false;
  renderNav(r.name);
  const view = h('div', { class: 'page' });
  main.replaceChildren(view);
  if (!entry || (entry.admin && user.role !== 'admin')) {
    document.title = 'Not found · Capsule';
    main.append(
      h('h1', { tabindex: '-1' }, 'There is no such page'),
      h('p', {}, h('a', { href: '#/catalog' }, 'Back to your apps')),
    );
    main.querySelector('h1')?.focus();
    return;
  }
  document.title = `${entry.title} · Capsule`;
  try {
    await entry.page({
      user,
      main: view,
      params: r.params,
      query: r.query,
      onLeave: (fn) => (gen === generation ? leaving.push(fn) : fn()),
    });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      user = null;
      return signIn('Your sign-in has expired; please sign in again.');
    }
    view.append(h('p', { class: 'error', role: 'alert' }, (e as Error).message));
  }
  if (gen !== generation) return;
  const heading = main.querySelector('h1');
  // A page that put focus somewhere itself (the cloud terminal) keeps it.
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function signIn(why?: string): void {
  top.hidden = true;
  document.title = 'Sign in · Capsule';
  const name = h('input', {
    name: 'username',
    autocomplete: 'username',
    required: true,
    autocapitalize: 'none',
    spellcheck: 'false',
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin card', 'aria-labelledby': 'signin-title', novalidate: true },
    h(
      'div',
      { class: 'brand big' },
      h('img', { src: '/console/assets/icon.svg', alt: '', width: 40, height: 40 }),
      'Capsule',
    ),
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Your apps, run in the cloud or in this tab. Nothing to install.'),
    why ? h('p', { class: 'notice' }, why) : null,
    field('User name', name),
    field('Password', password),
    error,
    button,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!name.value || !password.value) {
      error.textContent = 'Enter your user name and password.';
      (name.value ? password : name).focus();
      return;
    }
    button.disabled = true;
    post<{ user: User; csrf: string }>('/console/login', {
      user: name.value.trim(),
      password: password.value,
    })
      .then((r) => {
        user = r.user;
        setCsrf(r.csrf);
        announce(`Signed in as ${r.user.name}`);
        document.getElementById('who')!.textContent = `${r.user.name} (${r.user.role})`;
        // Setting the hash shows the page (hashchange); otherwise show it here.
        if (!location.hash.startsWith('#/')) location.hash = '#/catalog';
        else void show();
      })
      .catch((err: Error) => {
        error.textContent = err.message;
        password.value = '';
        password.focus();
      })
      .finally(() => (button.disabled = false));
  });
  main.replaceChildren(h('div', { class: 'signin-wrap' }, form));
  name.focus();
}

document.getElementById('signout')!.addEventListener('click', () => {
  post('/console/logout')
    .catch(() => {})
    .finally(() => {
      user = null;
      for (const fn of leaving) fn();
      leaving = [];
      announce('Signed out');
      signIn();
    });
});

window.addEventListener('hashchange', () => void show());

get<{ user: User; csrf: string }>('/console/session')
  .then((r) => {
    user = r.user;
    setCsrf(r.csrf);
    document.getElementById('who')!.textContent = `${r.user.name} (${r.user.role})`;
  })
  .catch(() => (user = null))
  .finally(() => void show());
