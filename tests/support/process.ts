/** Test-side name of hostprobe/process.ts (one deadline runner for tests, benches and the harness). */
export { outputWithin } from "../../hostprobe/process.ts";
