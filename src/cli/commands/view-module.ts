/**
 * The URL of the module that builds a package's view inside the guest's
 * worker (runtime/node/protocol.ts ViewSpec). Its own file so `run` can have
 * the prestarted worker load it before the package code is loaded here.
 */
export const packageViewModule = new URL('../../delivery/local/view-node.js', import.meta.url).href;
