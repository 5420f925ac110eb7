/**
 * Best-effort work a command starts and does not wait for (usage reports):
 * main gives it a short grace period before the process exits, and cuts it
 * off after that. Nothing tracked here may decide a command's outcome.
 */
const pending = new Set<Promise<void>>();

export function track(work: Promise<unknown>): void {
  const p: Promise<void> = work.then(
    () => undefined,
    () => undefined,
  );
  pending.add(p);
  void p.finally(() => pending.delete(p));
}

/** Waits for tracked work, at most `ms`. */
export async function settle(ms: number): Promise<void> {
  if (pending.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pending),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
