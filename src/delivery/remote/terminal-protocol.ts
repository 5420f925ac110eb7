/**
 * The messages of the cloud terminal protocol that both ends share
 * (docs/cloud.md): the server writes them (server/cloud), clients read them
 * (terminal.ts). No dependencies, so either side can load it.
 */

export const SUBPROTOCOL = 'capsule.terminal.v1';

/** Why a session ended, in the exit message. */
export type EndReason =
  | 'exit' // the app exited by itself (code is its exit code)
  | 'trap' // the app trapped (134)
  | 'fail' // it could not start (125/126)
  | 'timeout' // the wall-clock limit (124)
  | 'cpu' // the CPU-time limit (124)
  | 'idle' // detached longer than the idle timeout (143)
  | 'interrupt' // Ctrl-C on a terminal session (130)
  | 'ended' // ended by its user or an admin (143)
  | 'shutdown' // the server is stopping (143)
  | 'protocol'; // the client broke the protocol (floods, bad messages) (143)

export interface SessionMessage {
  type: 'session';
  id: string;
  app: string;
  version: string;
  created: string;
  tty: boolean;
  cols: number;
  rows: number;
  /** Output bytes replayed after this message: [from, to); `lost` bytes before `from` were dropped from the buffer. */
  replay: { from: number; to: number; lost: number };
  /** Set when the session has already ended; the exit message follows the replay. */
  ended: boolean;
}

export interface ExitMessage {
  type: 'exit';
  code: number;
  reason: EndReason;
  message: string;
}
