/**
 * The URL of the module that builds a package's view inside the guest's
 * worker (runtime/node/protocol.ts ViewSpec). Its own file so `run` can have
 * the prestarted worker load it before the package code is loaded here.
 */
export const packageViewModule = new URL('../../delivery/local/view-node.js', import.meta.url).href;

/** The module with the worker's share of reading the entry (local/worker-store.ts). */
export const entryReadTaskModule = new URL('../../delivery/local/worker-store.js', import.meta.url).href;
