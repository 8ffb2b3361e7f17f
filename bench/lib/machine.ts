/** The machine and software a run measured, recorded next to its numbers. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Table } from './format';
import { REPO_ROOT } from './paths';
import type { PythonEnv } from './python';

function firstMatch(file: string, pattern: RegExp): string | null {
  try {
    return pattern.exec(readFileSync(file, 'utf8'))?.[1]?.trim() ?? null;
  } catch {
    return null;
  }
}

function commandOutput(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

function npmVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return manifest.version;
  } catch {
    return 'not installed';
  }
}

/** The SIMD level decides what the native core and BLAS can use. */
function vectorExtensions(): string {
  const flags = new Set((firstMatch('/proc/cpuinfo', /^flags\s*:(.*)$/m) ?? '').split(/\s+/));
  return ['avx2', 'fma', 'avx512f'].filter((f) => flags.has(f)).join(', ') || 'none of avx2/fma/avx512f';
}

function commit(): string {
  const head = commandOutput('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = (commandOutput('git', ['status', '--porcelain', '--', 'src', 'native', 'index.js']) ?? '') !== '';
  return dirty ? `${head} + uncommitted changes to src/native` : head;
}

export function machineTable(python: PythonEnv): Table {
  const [load1] = os.loadavg();
  const pythonPackages = Object.entries(python.packages).map(([name, version]) => `${name} ${version}`);
  const rows: [string, string][] = [
    ['CPU', `${firstMatch('/proc/cpuinfo', /^model name\s*:(.*)$/m) ?? os.cpus()[0]?.model ?? 'unknown'} (${vectorExtensions()})`],
    ['cores', String(os.availableParallelism())],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['OS', `${firstMatch('/etc/os-release', /^PRETTY_NAME="?([^"\n]*)"?$/m) ?? os.type()}, kernel ${os.release()}`],
    ['load average at start (1 min)', load1.toFixed(2)],
    ['linear', `commit ${commit()}`],
    ['node', process.version],
    ['rustc', commandOutput('rustc', ['--version']) ?? 'not found'],
    ['python', python.version ?? 'not available'],
    ['Python peers', pythonPackages.join(', ') || 'none'],
    ['numpy BLAS', python.blas ?? 'n/a'],
    ['npm peers', `ml-regression-multivariate-linear ${npmVersion('ml-regression-multivariate-linear')}, autocannon ${npmVersion('autocannon')}`],
  ];
  return {
    title: 'Machine',
    columns: ['what', 'value'],
    rows,
    notes: python.setupSeconds === null ? [] : [`- The Python venv was set up in this run (${python.setupSeconds.toFixed(0)} s, not part of any timing).`],
  };
}
