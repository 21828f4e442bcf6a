/**
 * Which processes run on this machine, for the files and jobs named after their writer's pid:
 * a killed writer's pid may linger as a zombie (no reaping init in a container) or be reused.
 */
import { readFileSync } from 'node:fs';

/**
 * Whether a process with this id runs on this machine (a pid that cannot be signalled by us still
 * runs). A zombie — killed, not yet reaped, which in a container without a reaping init can last —
 * does not run.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  return !['Z', 'X'].includes(procStat(pid)?.[0] ?? '');
}

/**
 * Whether process `pid` runs and already ran at `sinceMs` (where /proc tells its start time):
 * after a kill -9 its pid is soon reused by another process or thread, which must not count.
 */
export function processRunningSince(pid: number, sinceMs: number): boolean {
  if (!processAlive(pid)) return false;
  const started = processStartMs(pid);
  return started === null || started <= sinceMs + 100;
}

/** CPU time (user + system, ms) process `pid` has used so far, from /proc (0 where there is none). */
export function processCpuMs(pid: number): number {
  const fields = procStat(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) * 10 : 0; // fields 14, 15: utime, stime, in clock ticks of 10 ms
}

/** The fields of /proc/<pid>/stat from the third (state) on; null where there is no /proc. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** When a process (or thread) started, in ms since the epoch, from Linux's /proc; null elsewhere. */
function processStartMs(pid: number): number | null {
  try {
    const fields = procStat(pid);
    if (!fields) return null;
    const ticks = Number(fields[19]); // field 22: start time, in clock ticks (USER_HZ, 100 on Linux) after boot
    const uptime = Number.parseFloat(readFileSync('/proc/uptime', 'utf8')); // seconds since boot, to 10 ms
    return Number.isFinite(ticks) && Number.isFinite(uptime) ? Date.now() - (uptime * 1000 - ticks * 10) : null;
  } catch {
    return null;
  }
}
