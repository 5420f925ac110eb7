export { consoleRoutes } from './routes.js';
export { COOKIE, SECURE_COOKIE, CSRF_HEADER, SESSION_TTL_S } from './cookie.js';
