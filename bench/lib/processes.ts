/**
 * Child processes of the bench: plain runs, runs measured for wall time and
 * peak RSS, and long-lived servers. Every child gets its own process group so
 * that one kill also reaches what it started (gunicorn's workers, the command
 * under /usr/bin/time), and every live group is killed when the bench exits,
 * fails or is interrupted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  wallS: number;
}

export interface MeasuredResult extends RunResult {
  /** Peak resident set size in MB (1e6 bytes), null when it could not be read. */
  peakRssMb: number | null;
  /** CPU time over wall time, in percent (200 = two cores busy throughout); null without GNU time. */
  cpuPercent: number | null;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Kills every child still running; safe to call from an 'exit' handler (synchronous). */
export function killAll(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
  live.clear();
}

/** Children must not outlive the bench, whether it ends normally, throws or is interrupted. */
export function installCleanup(): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
}

function start(command: string, args: string[], options: RunOptions): ChildProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function describe(command: string, args: string[]): string {
  return [command, ...args].map((a) => path.relative(process.cwd(), a) || a).join(' ');
}

/** Runs to completion; rejects with the tail of stderr when the command fails. */
function collect(child: ChildProcess, label: string): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${label} failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const output = await collect(start(command, args, options), describe(command, args));
  return { ...output, wallS: (performance.now() - started) / 1000 };
}

const GNU_TIME = '/usr/bin/time';

/** GNU time's -v report holds the peak RSS; BusyBox and BSD time do not take -v -o. */
const hasGnuTime: boolean = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-v', '-o', '/dev/null', 'true']).status === 0;

export function rssMethod(): string {
  return hasGnuTime ? '/usr/bin/time -v' : 'VmHWM polled from /proc every 10 ms (a lower bound)';
}

/** Wall time and peak RSS of one command, which must exit 0. */
export async function measure(command: string, args: string[], options: RunOptions = {}): Promise<MeasuredResult> {
  return hasGnuTime ? measureWithTime(command, args, options) : measureByPolling(command, args, options);
}

async function measureWithTime(command: string, args: string[], options: RunOptions): Promise<MeasuredResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-time-'));
  const report = path.join(dir, 'time.txt');
  try {
    const started = performance.now();
    const output = await collect(start(GNU_TIME, ['-v', '-o', report, command, ...args], options), describe(command, args));
    const wallS = (performance.now() - started) / 1000;
    const text = await readFile(report, 'utf8');
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
    const cpu = /Percent of CPU this job got: (\d+)%/.exec(text);
    return { ...output, wallS, peakRssMb: kb ? (Number(kb[1]) * 1024) / 1e6 : null, cpuPercent: cpu ? Number(cpu[1]) : null };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function vmHwmKb(pid: number): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) : null;
  } catch {
    return null;
  }
}

async function measureByPolling(command: string, args: string[], options: RunOptions): Promise<MeasuredResult> {
  const started = performance.now();
  const child = start(command, args, options);
  let peakKb: number | null = null;
  const poll = setInterval(() => {
    const kb = child.pid === undefined ? null : vmHwmKb(child.pid);
    if (kb !== null) peakKb = Math.max(peakKb ?? 0, kb);
  }, 10);
  try {
    const output = await collect(child, describe(command, args));
    return { ...output, wallS: (performance.now() - started) / 1000, peakRssMb: peakKb === null ? null : (peakKb * 1024) / 1e6, cpuPercent: null };
  } finally {
    clearInterval(poll);
  }
}

export interface Daemon {
  /** Its process id, which is also its process group's (what it forks stays in the group). */
  pid: number;
  logs(): string;
  /** SIGTERM to the whole group, SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a server; the caller waits for readiness itself (e.g. by polling /ping). */
export function daemon(command: string, args: string[], options: RunOptions = {}): Daemon {
  const child = start(command, args, options);
  let logs = '';
  const append = (d: Buffer) => {
    // Only the tail matters for a failure message; access logs could grow without bound.
    logs = (logs + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid ?? 0,
    logs: () => logs,
    stop: async (graceMs = 10_000) => {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by the live processes of a
 * process group: a server and the workers it forked. Linux only; null elsewhere.
 */
export function groupCpuSeconds(pgid: number): number | null {
  let ticks = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid pgrp ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    found = true;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return found ? ticks / TICKS_PER_SECOND : null;
}

/** The CPUs this process may run on, as taskset lists them (e.g. "0,1"); null without taskset. */
function affinity(pid: number): string | null {
  const result = spawnSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  return /list:\s*(\S+)/.exec(result.stdout)?.[1] ?? null;
}

export const hasTaskset: boolean = affinity(process.pid) !== null;

/**
 * Runs `work` with every thread of this process (the bench, and so the load
 * generator in it) pinned to `cpus`, then restores what it had.
 */
export async function pinnedTo<T>(cpus: string, work: () => Promise<T>): Promise<T> {
  const before = affinity(process.pid);
  if (before === null) throw new Error('taskset is not available');
  const set = (list: string) => {
    const result = spawnSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`taskset -a -p -c ${list} failed: ${result.stderr.trim()}`);
  };
  set(cpus);
  try {
    return await work();
  } finally {
    set(before);
  }
}
