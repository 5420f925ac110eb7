/** Every route the web console adds to `capsule serve` (docs/console.md). */
import type { Route } from '../router.js';
import { catalogRoutes } from './catalog.js';
import { fileRoutes } from './files.js';
import { policyRoutes } from './policy.js';
import { signinRoutes } from './signin.js';
import { staticRoutes } from './static.js';

export const consoleRoutes: Route[] = [
  ...staticRoutes,
  ...signinRoutes,
  ...catalogRoutes,
  ...fileRoutes,
  ...policyRoutes,
];
