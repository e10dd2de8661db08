import { readFile } from 'node:fs/promises';

// CPU time from /proc (Linux), to say where a 2-core machine's time went during a phase:
// the server, the load generator, Redis, and the whole machine (other engineers' work too).
// Elsewhere the figures are simply absent.

// USER_HZ: 100 on every Linux the project runs on (it is not exposed to Node).
const ticks_per_s = 100;

export async function processCpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]);
    const system = Number(fields[12]);
    return Number.isFinite(user + system) ? ((user + system) * 1_000) / ticks_per_s : null;
  } catch {
    return null;
  }
}

// Read and write system calls of a process so far (syscr + syscw of /proc/<pid>/io): on
// loopback a socket write also runs the receiver's TCP path, so their count per decision
// tells what batching saved whatever the host's speed that day.
export async function processSyscalls(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    const read = /^syscr: (\d+)$/m.exec(io)?.[1];
    const write = /^syscw: (\d+)$/m.exec(io)?.[1];
    return read === undefined || write === undefined ? null : Number(read) + Number(write);
  } catch {
    return null;
  }
}

export interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

export async function machineTicks(): Promise<MachineTicks | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    // idle + iowait
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export type CpuSample = Readonly<Record<string, number | null>> & {
  readonly machine_busy_share: number | null;
};

// Snapshot now; the returned function gives CPU milliseconds and read/write system calls per
// process since the snapshot, and the machine's busy share (0..1 of all cores) over the same
// interval.
export async function startCpuWindow(pids: Readonly<Record<string, number | undefined>>) {
  const before = await readAll(pids);
  const machine_before = await machineTicks();
  return async (): Promise<CpuSample> => {
    const after = await readAll(pids);
    const machine_after = await machineTicks();
    const result: Record<string, number | null> = {};
    for (const name of Object.keys(pids)) {
      result[`${name}_cpu_ms`] = difference(after[name]?.cpu_ms, before[name]?.cpu_ms);
      result[`${name}_syscalls`] = difference(after[name]?.syscalls, before[name]?.syscalls);
    }
    const share =
      machine_before === null || machine_after === null || machine_after.total === machine_before.total
        ? null
        : (machine_after.busy - machine_before.busy) / (machine_after.total - machine_before.total);
    return { ...result, machine_busy_share: share === null ? null : Math.round(share * 1_000) / 1_000 };
  };
}

function difference(after: number | null | undefined, before: number | null | undefined): number | null {
  return after === null || before === null || after === undefined || before === undefined
    ? null
    : after - before;
}

async function readAll(pids: Readonly<Record<string, number | undefined>>) {
  const values: Record<string, { cpu_ms: number | null; syscalls: number | null }> = {};
  for (const [name, pid] of Object.entries(pids)) {
    values[name] = { cpu_ms: await processCpuMs(pid), syscalls: await processSyscalls(pid) };
  }
  return values;
}
