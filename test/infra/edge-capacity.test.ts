/** How many edge processes the launcher starts: as asked, or sized from the streams expected and the file limit. */
import { describe, expect, test } from "bun:test";
import { edgeProcessesFor, openFileLimit, streamsPerEdgeProcess } from "../../infra/edge/capacity.ts";
import { edgeProcessCount, parseLauncherArgs } from "../../infra/launcher.ts";

describe("edge capacity", () => {
  test("a process holds half its file limit in streams, less what HAProxy keeps for itself", () => {
    expect(streamsPerEdgeProcess(20_000)).toBe(9_975);
    expect(streamsPerEdgeProcess(1_048_576)).toBe(524_263);
  });

  test("processes are sized to be at most 80% full, since the kernel's spread is only roughly even", () => {
    // 9,975 a process at most, 7,980 planned.
    expect(edgeProcessesFor(0, 20_000)).toBe(1);
    expect(edgeProcessesFor(7_980, 20_000)).toBe(1);
    expect(edgeProcessesFor(7_981, 20_000)).toBe(2);
    expect(edgeProcessesFor(30_000, 20_000)).toBe(4);
    expect(edgeProcessesFor(30_000, 1_048_576)).toBe(1);
  });

  test("the file limit is read from this process's limits", () => {
    const limit = openFileLimit();
    expect(Number.isInteger(limit)).toBe(true);
    expect(limit).toBeGreaterThan(0);
    const shell = Number(Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim());
    if (Number.isInteger(shell)) expect(limit).toBe(shell);
  });

  test("the launcher takes the processes asked for, or sizes them from --streams", () => {
    expect(edgeProcessCount({ edgeProcesses: 3 }, 20_000)).toBe(3);
    expect(edgeProcessCount({ edgeProcesses: 2, expectedStreams: 30_000 }, 20_000)).toBe(2);
    expect(edgeProcessCount({ expectedStreams: 30_000 }, 20_000)).toBe(4);
    expect(edgeProcessCount({}, 20_000)).toBe(1);
    expect(parseLauncherArgs(["--edge", "--edge-processes", "2", "--streaming", "2"])).toMatchObject({ edge: true, edgeProcesses: 2, counts: { streaming: 2 } });
    expect(parseLauncherArgs(["--edge", "--streams", "30000"])).toMatchObject({ edge: true, expectedStreams: 30_000 });
    for (const bad of [["--edge-processes", "0"], ["--edge-processes", "x"], ["--streams", "-1"], ["--nonsense", "1"], ["--gateway", "17"]]) expect(() => parseLauncherArgs(bad)).toThrow(/usage/);
  });
});
