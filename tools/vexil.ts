/**
 * `bun run vexil -- export|plan|apply …`: flags as code from a terminal or a CI job, over the
 * public API (`/api/v2/projects/{p}/export`, `/plan`, `/apply`). The token comes from
 * `VEXIL_TOKEN`, the server from `VEXIL_URL`, the project from `--project` or `VEXIL_PROJECT`.
 *
 * Exit codes: 0 nothing to do (or done), 2 changes planned, 1 an error (or an apply that left
 * items as they were: changed since the plan, or refused).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { planChunks } from "./plan-chunks.ts";

const USAGE = `usage:
  vexil export --project P [--env a,b] [--format yaml|json] [--out FILE]
  vexil plan   --project P (--file FILE | --from-env A --to-env B) [--prune] [--out PLAN.json] [--json]
  vexil apply  --project P (--file FILE [--prune] | --plan PLAN.json) [--comment TEXT] [--json]
environment: VEXIL_URL (server), VEXIL_TOKEN (access token), VEXIL_PROJECT (default project)
exit codes: 0 nothing to do / done, 2 changes planned, 1 error`;

class CliError extends Error {}

const useColor = !process.env.NO_COLOR && (Boolean(process.env.FORCE_COLOR) || process.stdout.isTTY === true);
const paint = (code: number) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const [green, yellow, red, bold, dim] = [paint(32), paint(33), paint(31), paint(1), paint(2)];

interface PlanItem {
  resource: string;
  key: string;
  environmentKey?: string;
  action: "create" | "update" | "delete";
  version: number | null;
  summary: string[];
}
interface Plan {
  items: PlanItem[];
  summary: string;
  notes: string[];
}
interface Outcome {
  resource: string;
  key: string;
  environmentKey?: string;
  action: string;
  version?: number;
  message?: string;
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const url = process.env.VEXIL_URL;
  const token = process.env.VEXIL_TOKEN;
  if (!url) throw new CliError("VEXIL_URL is not set");
  if (!token) throw new CliError("VEXIL_TOKEN is not set");
  let res: Response;
  try {
    res = await fetch(new URL(path, url), {
      method,
      headers: { authorization: token, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(`cannot reach ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 400) throw new CliError(`${res.status} ${json?.code ?? ""}: ${json?.message ?? text}`.trim());
  return { status: res.status, text, json };
}

const mark = { create: green("+"), update: yellow("~"), delete: red("-") } as const;
const colorOf = { create: green, update: yellow, delete: red } as const;

function itemName(i: { resource: string; key: string; environmentKey?: string }) {
  return `${i.resource} ${i.key}${i.environmentKey ? ` (${i.environmentKey})` : ""}`;
}

function printPlan(plan: Plan) {
  for (const item of plan.items) {
    console.log(`${mark[item.action]} ${colorOf[item.action](bold(itemName(item)))} ${dim(item.version === null ? "(new)" : `(version ${item.version})`)}`);
    for (const line of item.summary) console.log(`    ${colorOf[item.action](line)}`);
  }
  for (const note of plan.notes) console.log(dim(`note: ${note}`));
  console.log(bold(plan.summary));
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      project: { type: "string" },
      env: { type: "string" },
      format: { type: "string" },
      out: { type: "string" },
      file: { type: "string" },
      plan: { type: "string" },
      prune: { type: "boolean" },
      comment: { type: "string" },
      json: { type: "boolean" },
      "from-env": { type: "string" },
      "to-env": { type: "string" },
    },
    strict: true,
  });
  const project = values.project ?? process.env.VEXIL_PROJECT;
  if (!command || !["export", "plan", "apply"].includes(command)) throw new CliError(USAGE);
  if (!project) throw new CliError("--project (or VEXIL_PROJECT) is required");
  const base = `/api/v2/projects/${encodeURIComponent(project)}`;

  if (command === "export") {
    const query = new URLSearchParams();
    if (values.env) query.set("env", values.env);
    if (values.format) query.set("format", values.format);
    const { text } = await call("GET", `${base}/export${query.size > 0 ? `?${query}` : ""}`);
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  }

  if (command === "plan") {
    const promotion = values["from-env"] !== undefined || values["to-env"] !== undefined;
    if (promotion === (values.file !== undefined)) throw new CliError("plan needs --file, or --from-env and --to-env");
    const body = promotion ? { fromEnv: values["from-env"], toEnv: values["to-env"], prune: values.prune ?? false } : { file: readText(values.file!), prune: values.prune ?? false };
    const { json: plan } = await call("POST", `${base}/plan`, body);
    if (values.out) writeFileSync(values.out, `${JSON.stringify(plan, null, 2)}\n`);
    if (values.json) console.log(JSON.stringify(plan, null, 2));
    else printPlan(plan as Plan);
    return (plan as Plan).items.length === 0 ? 0 : 2;
  }

  if ((values.plan === undefined) === (values.file === undefined)) throw new CliError("apply needs --file or --plan");
  const comment = values.comment !== undefined ? { comment: values.comment } : {};
  let plan: { items: unknown[]; summary: string };
  if (values.plan !== undefined) {
    try {
      plan = JSON.parse(readText(values.plan));
    } catch (e) {
      throw new CliError(`${values.plan}: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else {
    // Planned first, then applied as a plan: a large plan is sent in parts.
    plan = (await call("POST", `${base}/plan`, { file: readText(values.file!), prune: values.prune ?? false })).json;
  }
  let failed = false;
  for (const part of planChunks(plan)) failed = (await applyPlan(base, { plan: part, ...comment }, values.json ?? false)) || failed;
  return failed ? 1 : 0;
}

/** Applies one plan, call after call: each answers the items it had no time for as `remaining`. True when some item did not apply. */
async function applyPlan(base: string, body: Record<string, unknown>, json: boolean): Promise<boolean> {
  let failed = false;
  for (;;) {
    const { json: report } = await call("POST", `${base}/apply`, body);
    if (json) console.log(JSON.stringify(report, null, 2));
    else {
      for (const o of report.applied as Outcome[]) console.log(`${green("✓")} ${o.action} ${itemName(o)}${o.version !== undefined ? dim(` → version ${o.version}`) : ""}`);
      for (const o of report.conflicts as Outcome[]) console.log(`${yellow("!")} ${o.action} ${itemName(o)}: ${yellow(o.message ?? "")}`);
      for (const o of report.errors as Outcome[]) console.log(`${red("✗")} ${o.action} ${itemName(o)}: ${red(o.message ?? "")}`);
      for (const o of (report.approvals ?? []) as Outcome[]) console.log(`${yellow("?")} ${o.action} ${itemName(o)}: ${yellow(o.message ?? "")}`);
      console.log(bold(report.summary));
    }
    failed ||= report.conflicts.length > 0 || report.errors.length > 0;
    if (!report.remaining) break;
    if (report.applied.length + report.conflicts.length + report.errors.length === 0) throw new CliError("the server applied nothing in a call; try again later");
    body.plan = report.remaining;
  }
  return failed;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const message = e instanceof CliError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  console.error(red(`vexil: ${message}`));
  process.exitCode = 1;
}
