// Memory of the Chromium processes this Node process started, read from
// Linux's /proc: every descendant of process.pid (so other people's
// browsers on the same machine are never counted).
//
//   const s = sampleMemory();            // every 100 ms until stopped
//   … load the page, search …
//   const peak = s.stop();               // {totalMB, rendererMB, samples}
//
// PSS (proportional set size) splits pages shared between processes (the
// Chromium binary, shared memory) among them, so the sum over processes is
// what they cost together; RSS would count shared pages once per process.
import fs from 'node:fs';

/** Pids of all descendants of root (default: this process). */
export function descendants(root = process.pid) {
  const children = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) || []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

/**
 * One reading: [{pid, type, pssKB, rssKB}] for each descendant; type is
 * Chromium's --type= (renderer, gpu-process, utility, …), 'browser' for the
 * main process, or the program name for anything else (go, the server).
 */
export function readMemory(root = process.pid) {
  const out = [];
  for (const pid of descendants(root)) {
    try {
      // Chromium rewrites its command line as one space-separated string.
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      const m = /^--type=(.+)$/.exec(cmd.find((a) => a.startsWith('--type=')) || '');
      const isChromium = /chrom/i.test(cmd[0]);
      const type = m ? m[1] : isChromium ? 'browser' : cmd[0].split('/').pop();
      const roll = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll) || [])[1] || 0);
      out.push({ pid, type, chromium: isChromium, pssKB: kb('Pss'), rssKB: kb('Rss') });
    } catch { /* gone, or no permission */ }
  }
  return out;
}

/**
 * Samples readMemory every intervalMs. stop() returns the peaks over the
 * samples: totalMB (all Chromium processes), rendererMB (renderer
 * processes only: the page, its workers and the service worker live there),
 * pageRendererMB (the largest single renderer: the one holding the page,
 * its engine worker and the service worker; the others are Chromium's
 * spare and start-up renderers) and samples (count).
 */
export function sampleMemory(intervalMs = 100, root = process.pid) {
  let totalKB = 0;
  let rendererKB = 0;
  let largestKB = 0;
  let samples = 0;
  const take = () => {
    const r = readMemory(root).filter((p) => p.chromium);
    if (!r.length) return;
    samples++;
    totalKB = Math.max(totalKB, r.reduce((t, p) => t + p.pssKB, 0));
    const rend = r.filter((p) => p.type === 'renderer');
    rendererKB = Math.max(rendererKB, rend.reduce((t, p) => t + p.pssKB, 0));
    largestKB = Math.max(largestKB, ...rend.map((p) => p.pssKB));
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { totalMB: Math.round(totalKB / 1024), rendererMB: Math.round(rendererKB / 1024), pageRendererMB: Math.round(largestKB / 1024), samples };
    },
  };
}

/**
 * CPU time (user + system, all threads) used so far by the Chromium
 * processes among root's descendants, in ms. The difference of two
 * readings around a piece of work is its CPU cost, which other processes
 * on a busy machine disturb far less than wall time. /proc counts in
 * USER_HZ ticks (100 per second on Linux), so the resolution is 10 ms.
 */
export function chromiumCpuMs(root = process.pid) {
  let ticks = 0;
  for (const pid of descendants(root)) {
    try {
      if (!/chrom/i.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/)[0])) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    } catch { /* gone */ }
  }
  return ticks * 10;
}
