/** Loaded before every test file: whatever throwaway server a test process started stops with it. */
import { afterAll } from "bun:test";
import { stopThrowawayServers } from "../../infra/local/registry.ts";

afterAll(async () => {
  await stopThrowawayServers();
});
