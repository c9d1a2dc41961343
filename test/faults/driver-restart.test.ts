/**
 * The database driver answers every statement after Postgres restarts: `driver-restart.ts` in a
 * process of its own (it stops and starts its own throwaway Postgres), three restarts.
 */
import { expect, test } from "bun:test";
import { ROOT } from "../support/process.ts";

test("postgres.js answers or refuses every statement begun after Postgres restarted (three immediate stops under load)", async () => {
  const proc = Bun.spawn(["bun", "test/faults/driver-restart.ts", "3"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const rounds = stdout.trim().split("\n").map((line) => JSON.parse(line) as { round: number; answered: number; refused: number; unansweredAfterRestart: number });
  expect(rounds.map((r) => r.round)).toEqual([1, 2, 3]);
  const last = rounds.at(-1)!;
  // Work went on between the restarts, and was refused while the server was down.
  expect(last.answered).toBeGreaterThan(1_000);
  expect(last.refused).toBeGreaterThan(0);
  expect(last.unansweredAfterRestart).toBe(0);
}, 120_000);
