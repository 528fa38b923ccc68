/**
 * One import for bench/import_bench.ts, alone in its process: prints wall time and the
 * process's peak RSS (VmHWM from /proc/self/status) as JSON.
 */
import { importPath } from "../snapshots/import/mod.ts";

const t0 = performance.now();
const s = await importPath(Deno.args[0], { memory: false });
const ms = performance.now() - t0;
const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
console.log(JSON.stringify({ ms, peakRssKiB: Number(hwm), vcpus: s.vcpus.length }));
