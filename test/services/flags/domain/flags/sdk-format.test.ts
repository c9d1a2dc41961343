/** The SDK view of a flag: user targets stay visible to SDKs next to other kinds' context targets. */
import { expect, test } from "bun:test";
import { sdkFlag } from "@vexil/flags/domain/flags/sdk-format";
import { colourFlag, environment } from "./flag-fixtures.ts";

test("with context targets, user targets get a placeholder entry of kind user, first; without, none", () => {
  const both = colourFlag("colours", {
    environments: {
      production: environment({ targets: [{ contextKind: "user", values: ["u1"], variation: 0 }], contextTargets: [{ contextKind: "org", values: ["acme"], variation: 1 }] }),
      test: environment({ targets: [{ contextKind: "user", values: ["u2"], variation: 2 }] }),
    },
  });
  expect(sdkFlag(both, "production")!.contextTargets).toEqual([
    { contextKind: "user", values: [], variation: 0 },
    { contextKind: "org", values: ["acme"], variation: 1 },
  ]);
  expect(sdkFlag(both, "production")!.targets).toEqual([{ values: ["u1"], variation: 0 }]);
  expect(sdkFlag(both, "test")!.contextTargets).toEqual([]);
  // A placeholder already there is kept where it is, not repeated.
  const placed = colourFlag("colours", {
    environments: {
      production: environment({
        targets: [{ contextKind: "user", values: ["u1"], variation: 0 }],
        contextTargets: [{ contextKind: "org", values: ["acme"], variation: 1 }, { contextKind: "user", values: [], variation: 0 }],
      }),
    },
  });
  expect(sdkFlag(placed, "production")!.contextTargets).toEqual([
    { contextKind: "org", values: ["acme"], variation: 1 },
    { contextKind: "user", values: [], variation: 0 },
  ]);
});
