/** Cloud sessions: apps run on the server, attached to over a WebSocket terminal (docs/cloud.md). */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MetadataStore } from '../metadata/types.js';
import type { FsObjectStore } from '../../store/fs/index.js';
import { DEFAULT_LIMITS, type CloudLimits } from './limits.js';
import { SessionTable } from './sessions.js';
import { TerminalServer } from './terminal.js';
import { DEFAULT_MAX_STATE_BYTES } from './state-transfer.js';

export { DEFAULT_LIMITS, type CloudLimits } from './limits.js';
export { DEFAULT_MAX_STATE_BYTES } from './state-transfer.js';
export { cloudRoutes } from './routes.js';

export interface CloudOptions {
  limits?: Partial<CloudLimits>;
  maxStateBytes?: number;
}

export class CloudService {
  readonly table: SessionTable;
  readonly maxStateBytes: number;
  private readonly terminal: TerminalServer;

  constructor(
    ctx: { meta: MetadataStore; objects: FsObjectStore; dataDir: string },
    options: CloudOptions,
    onError: (e: unknown) => void,
  ) {
    this.table = new SessionTable({ ...DEFAULT_LIMITS, ...options.limits });
    this.maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    this.terminal = new TerminalServer({ ...ctx, table: this.table }, onError);
  }

  /** The HTTP server's 'upgrade' listener. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.terminal.upgrade(req, socket, head);
  }

  /** Ends every session, tells attached clients, and closes their sockets. */
  async close(): Promise<void> {
    await this.table.closeAll();
    await this.terminal.close();
  }
}
