/**
 * CPU time of one thread (Linux), for a session's CPU-time limit. A worker
 * learns its own kernel thread id through /proc/thread-self and reports it;
 * the main thread then reads that thread's utime + stime from
 * /proc/self/task/<tid>/stat. Time the guest spends blocked (waiting for
 * stdin in Atomics.wait) is not CPU time, so an idle interactive session
 * spends nothing. Elsewhere both return null and only the wall-clock limit
 * applies.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** The calling thread's kernel thread id, or null where /proc/thread-self does not exist. */
export function ownThreadId(): number | null {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second in /proc (USER_HZ, 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** Seconds of CPU the thread `tid` of this process has used, or null when it cannot be read. */
export function threadCpuSeconds(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    // "tid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / USER_HZ : null;
  } catch {
    return null;
  }
}
