/**
 * The deployment files: the edge's shipped HAProxy configuration is the one `infra/edge/config.ts`
 * renders and HAProxy accepts it; `infra/compose.yaml` validates against the Compose specification's
 * JSON schema; every Kubernetes manifest validates against the Kubernetes API schemas (the
 * `kubernetes-models` package's validators), and the pieces refer to each other correctly (selectors,
 * ports, probes, the edge's ConfigMap and the names it resolves).
 */
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Ajv from "ajv";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { parse, parseAllDocuments } from "yaml";
import { renderEdgeConfig, shippedEdgeConfig, streamingPathPattern } from "../../infra/edge/config.ts";
import { haproxyBinary } from "../../infra/edge/haproxy.ts";
import { edgeConfigMap } from "../../infra/edge/render.ts";
import { STREAMING_PATHS } from "../../services/streaming/paths.ts";
import { freePort } from "../../infra/local/ports.ts";
import { ROOT } from "../support/process.ts";

const INFRA = join(ROOT, "infra");
const read = (path: string) => readFileSync(join(INFRA, path), "utf8");
const EDGE_ENV = { VEXIL_EDGE_GATEWAYS: "localhost:8080", VEXIL_EDGE_STREAMING: "localhost:8081" };

/** `haproxy -c`: the exit code and what it said. */
function haproxyCheck(configText: string, env: Record<string, string> = {}): { code: number; output: string } {
  const file = join(tmpdir(), `vexil-edge-check-${crypto.randomUUID()}.cfg`);
  writeFileSync(file, configText);
  try {
    const run = Bun.spawnSync([haproxyBinary(), "-c", "-f", file], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    return { code: run.exitCode, output: `${run.stdout.toString()}${run.stderr.toString()}` };
  } finally {
    rmSync(file, { force: true });
  }
}

describe("the edge's configuration", () => {
  test("the shipped haproxy.cfg and its Kubernetes ConfigMap are what config.ts renders (run `bun infra/edge/render.ts` after changing it)", () => {
    expect(read("edge/haproxy.cfg")).toBe(shippedEdgeConfig());
    expect(read("k8s/edge-config.yaml")).toBe(edgeConfigMap(shippedEdgeConfig()));
  });

  test("HAProxy accepts the shipped configuration and the launcher's, and refuses a broken one", () => {
    const shipped = haproxyCheck(shippedEdgeConfig(), EDGE_ENV);
    expect(shipped.output).toContain("Configuration file is valid");
    expect(shipped.code).toBe(0);
    const local = renderEdgeConfig({
      bind: "127.0.0.1:18080",
      statsBind: "127.0.0.1:18404",
      gateways: [{ name: "gateway-0", host: "127.0.0.1", port: 18081 }, { name: "gateway-1", host: "127.0.0.1", port: 18082 }],
      streaming: [{ name: "streaming-0", host: "127.0.0.1", port: 18083 }],
    });
    expect(haproxyCheck(local).code).toBe(0);
    expect(haproxyCheck(local.replace("balance leastconn", "balance fewest")).code).not.toBe(0);
  });

  test("the edge sends exactly the streaming service's paths to the streaming instances", () => {
    const edgePattern = new RegExp(streamingPathPattern());
    const paths = ["/all", "/sdk/latest-all", "/sdk/evalx/e/contexts/c", "/eval/e/c", "/msdk/evalx/contexts/c", "/meval/c", "/meval", "/mping", "/ping/e", "/bulk", "/diagnostic", "/events/bulk/e", "/mobile", "/mobile/events/bulk", "/ofrep/v1/evaluate/flags", "/api/v2/projects", "/api/v2/flags/p/f", "/docs", "/api-docs", "/healthz", "/readyz", "/", "/sdkfoo", "/ofrep"];
    for (const path of paths) expect({ path, edge: edgePattern.test(path) }).toEqual({ path, edge: STREAMING_PATHS.test(path) });
    expect(shippedEdgeConfig()).toContain(`acl sdk path_reg ${streamingPathPattern()}`);
  });
});

describe("compose", () => {
  const require = createRequire(import.meta.url);
  // The Compose specification's schema as the dclint package ships it.
  const schema = JSON.parse(readFileSync(join(dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json"), "utf8"));
  // It names its draft as "https://json-schema.org/draft-07/schema"; Ajv knows draft-07 by its canonical id.
  const validate = new Ajv({ strict: false, allErrors: true }).compile({ ...schema, $schema: "http://json-schema.org/draft-07/schema#" });
  const compose = parse(read("compose.yaml"), { merge: true });

  test("compose.yaml is valid against the Compose specification, and a broken one is not", () => {
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    const broken = structuredClone(compose);
    broken.services.edge.portz = broken.services.edge.ports;
    broken.services.gateway.depends_on.auth.condition = "service_happy";
    expect(validate(broken)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath)).toEqual(expect.arrayContaining(["/services/edge", "/services/gateway/depends_on/auth/condition"]));
  });

  test("one published port, the edge's, serving the shipped configuration over the gateway and streaming services", () => {
    const published = Object.entries(compose.services as Record<string, { ports?: string[] }>).filter(([, s]) => s.ports?.length);
    expect(published.map(([name, s]) => [name, s.ports])).toEqual([["edge", ["8080:8080"]]]);
    const edge = compose.services.edge;
    expect(edge.volumes).toContain("./edge/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
    expect(edge.environment).toEqual({ VEXIL_EDGE_GATEWAYS: "gateway:8080", VEXIL_EDGE_STREAMING: "streaming:8080" });
    for (const name of ["gateway", "streaming"]) {
      expect(compose.services[name].expose).toContain("8080");
      expect(compose.services[name].environment.PORT).toBe("8080");
    }
    expect(compose.services.streaming.deploy.replicas).toBeGreaterThanOrEqual(2);
  });

  test("the bus: the three nats-servers, run with compose's own arguments, form one cluster with JetStream", async () => {
    const nodes = ["nats-1", "nats-2", "nats-3"];
    expect(compose.services.gateway.environment.NATS_URL).toBe(nodes.map((n) => `nats://${n}:4222`).join(","));
    for (const service of ["auth", "flags", "gateway", "streaming", "webhooks"]) {
      expect(Object.keys(compose.services[service].depends_on)).toEqual(expect.arrayContaining(nodes));
    }
    // Each node's command as compose runs it, with the other containers' names mapped to local ports.
    const ports = Object.fromEntries(nodes.map((n) => [n, { client: freePort(), route: freePort(), monitor: freePort() }]));
    const dir = mkdtempSync(join(tmpdir(), "vexil-compose-nats-"));
    const servers = nodes.map((name) => {
      const args = (compose.services[name].command as string[]).map((a) =>
        a
          .replace(/nats:\/\/(nats-\d):6222/g, (_, host: string) => `nats://127.0.0.1:${ports[host]!.route}`)
          .replace("nats://0.0.0.0:6222", `nats://127.0.0.1:${ports[name]!.route}`)
          .replace(/^\/data$/, join(dir, name)),
      );
      return Bun.spawn(["nats-server", ...args, "-a", "127.0.0.1", "-p", String(ports[name]!.client), "-m", String(ports[name]!.monitor)], { stdout: "ignore", stderr: Bun.file(join(dir, `${name}.log`)) });
    });
    try {
      // A meta cluster forms within seconds; a busy machine may take longer.
      const deadline = Date.now() + 40_000;
      let cluster: { name?: string; leader?: string; cluster_size?: number } | undefined;
      while (Date.now() < deadline) {
        cluster = await fetch(`http://127.0.0.1:${ports["nats-1"]!.monitor}/jsz`).then((r) => r.json() as Promise<{ meta_cluster?: typeof cluster }>).then((j) => j.meta_cluster, () => undefined);
        if (cluster?.leader && cluster.cluster_size === 3) break;
        await Bun.sleep(200);
      }
      // Each node's log, to tell why one did not join.
      if (cluster?.cluster_size !== 3) for (const name of nodes) console.error(`${name}:\n${await Bun.file(join(dir, `${name}.log`)).text().catch(() => "")}`);
      expect(cluster?.name).toBe("vexil");
      expect(nodes).toContain(cluster?.leader ?? "no leader");
      expect(cluster?.cluster_size).toBe(3);
      const routes = (await fetch(`http://127.0.0.1:${ports["nats-3"]!.monitor}/routez`).then((r) => r.json())) as { num_routes: number };
      expect(routes.num_routes).toBeGreaterThanOrEqual(2);
    } finally {
      for (const server of servers) server.kill();
      await Promise.all(servers.map((s) => s.exited));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("Kubernetes manifests", () => {
  const models: Record<string, new (data: any) => { validate(): void }> = {
    "v1/Namespace": Namespace,
    "v1/ConfigMap": ConfigMap,
    "v1/Secret": Secret,
    "v1/Service": Service,
    "apps/v1/Deployment": Deployment,
    "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  };
  const files = readdirSync(join(INFRA, "k8s")).filter((f) => f.endsWith(".yaml")).sort();
  const docs = files.flatMap((file) =>
    parseAllDocuments(read(`k8s/${file}`)).map((d, i) => {
      expect(d.errors).toEqual([]);
      return { where: `${file}#${i}`, doc: d.toJS() as any };
    }),
  );
  const ofKind = (kind: string) => docs.map((d) => d.doc).filter((d) => d.kind === kind);
  const deployments = ofKind("Deployment");
  const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const podsOf = (selector: Record<string, string>) => deployments.filter((d) => matches(selector, d.spec.template.metadata.labels));

  test("every document is valid against the Kubernetes schema of its kind, and a broken one is not", () => {
    expect(files).toEqual(expect.arrayContaining(["edge.yaml", "edge-config.yaml", "gateway.yaml", "streaming.yaml"]));
    for (const { where, doc } of docs) {
      const Model = models[`${doc.apiVersion}/${doc.kind}`];
      expect({ where, known: Boolean(Model) }).toEqual({ where, known: true });
      expect(() => new Model!(doc).validate()).not.toThrow();
    }
    const broken = structuredClone(deployments[0]);
    broken.spec.replicas = "two";
    delete broken.spec.template.spec.containers[0].name;
    expect(() => new Deployment(broken).validate()).toThrow();
  });

  test("selectors find their pods, named ports exist, and every container has a readiness probe", () => {
    for (const d of deployments) {
      expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
      for (const c of d.spec.template.spec.containers) expect({ deployment: d.metadata.name, probe: c.readinessProbe?.httpGet?.path }).toEqual({ deployment: d.metadata.name, probe: expect.stringMatching(/^\/(readyz|edge\/healthz)$/) });
    }
    for (const s of ofKind("Service")) {
      const pods = podsOf(s.spec.selector);
      expect({ service: s.metadata.name, pods: pods.length }).toEqual({ service: s.metadata.name, pods: 1 });
      const portNames = pods[0].spec.template.spec.containers.flatMap((c: any) => c.ports.map((p: any) => p.name));
      for (const p of s.spec.ports) expect(portNames).toContain(p.targetPort);
    }
    const budgets = ofKind("PodDisruptionBudget");
    for (const b of budgets) expect(podsOf(b.spec.selector.matchLabels)).toHaveLength(1);
    expect(budgets.map((b) => podsOf(b.spec.selector.matchLabels)[0].metadata.name).sort()).toEqual(["vexil-edge", "vexil-gateway", "vexil-streaming"]);
  });

  test("the edge runs the shipped configuration and resolves headless Services of the gateway and streaming pods", () => {
    const edge = deployments.find((d) => d.metadata.name === "vexil-edge")!;
    const configMap = ofKind("ConfigMap").find((c) => c.metadata.name === edge.spec.template.spec.volumes[0].configMap.name)!;
    expect(configMap.data["haproxy.cfg"]).toBe(read("edge/haproxy.cfg"));
    const container = edge.spec.template.spec.containers[0];
    expect(container.volumeMounts[0].mountPath).toBe("/usr/local/etc/haproxy");
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
    for (const [variable, component] of [["VEXIL_EDGE_GATEWAYS", "gateway"], ["VEXIL_EDGE_STREAMING", "streaming"]] as const) {
      expect(read("edge/haproxy.cfg")).toContain(`"\${${variable}}"`);
      const [, name, namespace, port] = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(env[variable])!;
      const service = ofKind("Service").find((s) => s.metadata.name === name && s.metadata.namespace === namespace)!;
      expect(service.spec.clusterIP).toBe("None");
      expect(service.spec.ports.map((p: any) => String(p.port))).toContain(port);
      expect(podsOf(service.spec.selector)[0].metadata.labels["app.kubernetes.io/component"]).toBe(component);
    }
  });
});
