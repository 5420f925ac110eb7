/** The browser runtime's public API (docs/browser.md). */
export {
  connect,
  start,
  BrowserRuntime,
  BrowserRunError,
  type BrowserSession,
  type ConnectOptions,
  type Credentials,
  type ExitInfo,
  type StartOptions,
} from './session.js';
