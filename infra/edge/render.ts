/**
 * Writes the edge's shipped configuration from `config.ts`: `infra/edge/haproxy.cfg` (mounted by
 * compose) and the ConfigMap holding the same text in `infra/k8s/edge-config.yaml`.
 * Run `bun infra/edge/render.ts` after changing `config.ts`; a test checks both are current.
 */
import { join } from "node:path";
import { shippedEdgeConfig } from "./config.ts";

export function edgeConfigMap(config: string): string {
  const indented = config.trimEnd().split("\n").map((l) => (l ? `    ${l}` : "")).join("\n");
  return [
    "# The edge's HAProxy configuration: infra/edge/haproxy.cfg, written by infra/edge/render.ts.",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: vexil-edge",
    "  namespace: vexil",
    "  labels:",
    "    app.kubernetes.io/name: vexil-edge",
    "    app.kubernetes.io/part-of: vexil",
    "data:",
    "  haproxy.cfg: |",
    indented,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const config = shippedEdgeConfig();
  await Bun.write(join(import.meta.dir, "haproxy.cfg"), config);
  await Bun.write(join(import.meta.dir, "../k8s/edge-config.yaml"), edgeConfigMap(config));
}
