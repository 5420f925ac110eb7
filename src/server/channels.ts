/**
 * What a channel points at, from its history. A channel is a stack: promote
 * pushes an entry, rollback takes the top one off (marks it rolled back), and
 * the version a channel points at is the newest standing entry whose version
 * is not yanked. So yanking the version a channel points at moves the
 * channel back at once, and un-yanking it moves it forward again.
 */
import type { Channel, ChannelEntry } from './metadata/types.js';

const standing = (c: Channel): ChannelEntry[] => c.entries.filter((e) => e.rolledBackAt === null);

/** The version `channel` points at now, or null (never used, rolled back to nothing, or all yanked). */
export function currentVersion(channel: Channel, yanked: ReadonlySet<string>): string | null {
  return standing(channel).find((e) => !yanked.has(e.version))?.version ?? null;
}

/**
 * A rollback: the entries to mark, and the version the channel then points
 * at (the one it pointed at before the current one, skipping yanked versions
 * and the current version itself). Null when there is nothing to go back to.
 */
export function rollbackPlan(
  channel: Channel,
  yanked: ReadonlySet<string>,
): { retire: number[]; from: string; to: string } | null {
  const entries = standing(channel);
  const current = entries.findIndex((e) => !yanked.has(e.version));
  if (current < 0) return null;
  const from = entries[current]!.version;
  const back = entries.findIndex((e, i) => i > current && !yanked.has(e.version) && e.version !== from);
  if (back < 0) return null;
  return { retire: entries.slice(0, back).map((e) => e.id), from, to: entries[back]!.version };
}

/** Channel name -> version now, for every channel of `app` that points at one. */
export function channelMap(
  channels: Channel[],
  app: string,
  yanked: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of channels) {
    if (c.app !== app) continue;
    const v = currentVersion(c, yanked);
    if (v !== null) out[c.name] = v;
  }
  return out;
}
