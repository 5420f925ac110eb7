/**
 * What a cloud session may use, and how many there may be. `capsule serve`
 * sets them (docs/cloud.md); the defaults suit a small shared machine.
 */
export interface CloudLimits {
  /** Running sessions on this server, all users together. */
  maxSessions: number;
  /** Running sessions of one user. */
  sessionsPerUser: number;
  /** The guest's linear memory, MiB (memory.grow fails past it, as on a smaller machine). */
  memoryMiB: number;
  /** V8 heap of the session's worker (the filesystem and caches around the guest), MiB. */
  heapMiB: number;
  /** CPU seconds of the guest's thread over the session's life. */
  cpuSeconds: number;
  /** Wall-clock seconds from start to a forced end. */
  wallSeconds: number;
  /** Seconds a session may stay detached (no client) before it is ended. */
  idleSeconds: number;
  /** Output kept for replay on reattach, bytes (a ring: the oldest goes first). */
  bufferBytes: number;
  /** WebSocket messages a client may send per second (a token bucket of twice this many). */
  messagesPerSecond: number;
  /** The largest WebSocket message a client may send, bytes. */
  maxMessageBytes: number;
}

export const DEFAULT_LIMITS: CloudLimits = {
  maxSessions: 128,
  sessionsPerUser: 4,
  memoryMiB: 256,
  heapMiB: 64,
  cpuSeconds: 600,
  wallSeconds: 8 * 3600,
  idleSeconds: 900,
  bufferBytes: 256 * 1024,
  messagesPerSecond: 500,
  maxMessageBytes: 64 * 1024,
};
