// Shared pieces of the peer benchmarks: the input batch, timing loop and the
// one-object JSON report every bench script prints (see collect.mjs).
import os from 'node:os';
import path from 'node:path';
import { CHW, loadInputs, expandInputs, median, now, repoRoot, sharedDir } from '../ref/common.mjs';

/**
 * The input batch: the first B tensors from --input (a .f32 file, images, a
 * directory) if given, else a deterministic pseudo-random caffe-range tensor.
 * Timing does not depend on the values (no data-dependent branches in conv).
 */
export async function inputBatch(input, batch) {
  const out = new Float32Array(batch * CHW);
  if (input) {
    const items = await loadInputs(expandInputs([input]));
    for (let i = 0; i < batch; i++) out.set(items[i % items.length].chw, i * CHW);
    return out;
  }
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 255 - 120;
  }
  return out;
}

/**
 * Runs fn warmup times, then runs times; returns per-run ms. ms.cpuMs is the
 * process CPU time of the timed runs: divided by images it is a figure that
 * other processes on a busy machine disturb far less than wall time. ms.cores is the
 * process CPU time over wall time during the timed runs (worker threads
 * included): ~1 for one thread, ~N when N threads really run in parallel.
 */
export async function timeRuns(fn, warmup, runs) {
  for (let i = 0; i < warmup; i++) await fn();
  const ms = [];
  const cpu0 = process.cpuUsage();
  const t0 = now();
  for (let i = 0; i < runs; i++) {
    const t = now();
    await fn();
    ms.push(now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  ms.cpuMs = (cpu.user + cpu.system) / 1000;
  ms.cores = round(ms.cpuMs / (now() - t0), 2);
  return ms;
}

export function summary(ms, perRun = 1) {
  const per = ms.map((x) => x / perRun);
  return { median: round(median(per)), min: round(Math.min(...per)), max: round(Math.max(...per)), runs: per.length };
}

export function round(x, d = 1) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

export function peakRssMb() {
  return round(process.resourceUsage().maxRSS / 1024, 0);
}

export function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model, cores: cpus.length, node: process.version, os: `${os.platform()} ${os.arch()}` };
}

/**
 * The command line that made this piece, run from the repository root: paths
 * inside the repository become relative, the shared data folder becomes
 * ../shared (no absolute paths of one machine end up in docs/).
 */
export function commandLine() {
  const root = repoRoot() + path.sep;
  const shared = path.resolve(sharedDir()) + path.sep;
  const rel = (a) => a.split(root).join('').split(shared).join('../shared/').replace(/\/\.\.\/shared\/$/, '');
  return ['node', ...process.argv.slice(1).map(rel)].join(' ');
}

/** Prints the piece: metric keys at top level, plus command, machine, date and details. */
export function report(metrics, detail) {
  // The load average shows whether the machine was busy (2 shared cores here).
  const piece = { ...metrics, command: commandLine(), date: new Date().toISOString(), machine: machine(),
    detail: { ...detail, loadavg_1m: round(os.loadavg()[0], 2) } };
  process.stdout.write(JSON.stringify(piece, null, 1) + '\n');
}
