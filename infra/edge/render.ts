/** Writes `infra/edge/haproxy.cfg` (compose and Kubernetes) from `config.ts`: `bun infra/edge/render.ts`. */
import { join } from "node:path";
import { shippedEdgeConfig } from "./config.ts";

await Bun.write(join(import.meta.dir, "haproxy.cfg"), shippedEdgeConfig());
