/** Throwaway servers started by this process, so they can all be stopped before it exits. */
const stops = new Set<() => Promise<void>>();

export function registerThrowaway(stop: () => Promise<void>): () => void {
  stops.add(stop);
  return () => void stops.delete(stop);
}

export async function stopThrowawayServers(): Promise<void> {
  const all = [...stops];
  stops.clear();
  await Promise.allSettled(all.map((stop) => stop()));
}
