/**
 * How many edge processes a number of SDK streams needs. A process's open-file limit bounds what it
 * can hold: a proxied stream takes two descriptors (one to the SDK, one to the streaming instance),
 * and HAProxy derives its connection limit from the file limit (`maxconn` ≈ half of it). Where the
 * limit cannot be raised, more streams take more processes on the same port (SO_REUSEPORT; the
 * kernel spreads new connections over them by a hash of the addresses, roughly evenly, not exactly).
 */
import { readFileSync } from "node:fs";

/** Descriptors HAProxy keeps for itself: listeners, health checks, logs, the master's socket pair. */
const RESERVED_DESCRIPTORS = 50;
/** Each process is sized to be at most this full, since the kernel's spread is only roughly even. */
const FILL = 0.8;

/** Streams one edge process can proxy with this open-file limit. */
export function streamsPerEdgeProcess(fileLimit: number): number {
  return Math.max(1, Math.floor((fileLimit - RESERVED_DESCRIPTORS) / 2));
}

/** Edge processes for `streams` SDK streams: every process at most 80% full (at least one process). */
export function edgeProcessesFor(streams: number, fileLimit: number): number {
  const each = Math.max(1, Math.floor(streamsPerEdgeProcess(fileLimit) * FILL));
  return Math.max(1, Math.ceil(streams / each));
}

/** This process's open-file limit (soft), which the edge processes it starts inherit. */
export function openFileLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    if (Number.isInteger(soft) && soft > 0) return soft;
  } catch {
    // not Linux
  }
  return 1024;
}
