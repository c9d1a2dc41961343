/**
 * Holds live answers to the OpenAPI document: `checked(client)` wraps a test client so that every
 * answer it gets is matched to its documented operation, its status must be one the operation
 * documents and its JSON body must validate against the documented schema (Ajv, JSON Schema
 * 2020-12, the dialect of OpenAPI 3.1). It records which operations were called, so a test can
 * require that every documented operation was.
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";
import type { Client, Result } from "./client.ts";

interface MediaType {
  schema?: object;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId: string;
  responses: Record<string, ResponseObject>;
}

export interface Violation {
  operation: string;
  status: number;
  problem: string;
}

interface Template {
  method: string;
  path: string;
  pattern: RegExp;
  literalParts: number;
  operation: Operation;
}

export class Contract {
  readonly called = new Set<string>();
  readonly violations: Violation[] = [];
  private readonly templates: Template[] = [];
  private readonly ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
  private readonly validators = new Map<object, ReturnType<Ajv2020["compile"]>>();

  /** `document` as served; it is validated (`SwaggerParser.validate` throws on an invalid one) and dereferenced. */
  static async of(document: unknown): Promise<Contract> {
    const resolved = (await SwaggerParser.validate(structuredClone(document) as never)) as unknown as { paths: Record<string, Record<string, Operation>> };
    return new Contract(resolved.paths);
  }

  private constructor(paths: Record<string, Record<string, Operation>>) {
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (typeof operation !== "object" || !("responses" in operation)) continue;
        const parts = path.split("/");
        const source = parts.map((p) => (p.startsWith("{") ? "[^/]+" : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/");
        this.templates.push({ method: method.toUpperCase(), path, pattern: new RegExp(`^${source}$`), literalParts: parts.filter((p) => !p.startsWith("{")).length, operation });
      }
    }
    // The most literal template first: `/flags/{p}/{k}/copy` before `/flags/{p}/{k}/{x}`.
    this.templates.sort((a, b) => b.literalParts - a.literalParts);
  }

  /** Every documented operation, as `METHOD path`. */
  operations(): string[] {
    return this.templates.map((t) => `${t.method} ${t.path}`).sort();
  }

  uncalled(): string[] {
    return this.operations().filter((o) => !this.called.has(o));
  }

  /** Matches one answer to its operation and records what does not hold. */
  check(method: string, url: string, result: Result): void {
    const pathname = new URL(url, "http://origin.invalid").pathname;
    const template = this.templates.find((t) => t.method === method && t.pattern.test(pathname));
    if (!template) return;
    const name = `${template.method} ${template.path}`;
    this.called.add(name);
    const response = template.operation.responses[String(result.status)] ?? template.operation.responses.default;
    if (!response) {
      this.violations.push({ operation: name, status: result.status, problem: `status ${result.status} is not documented (${Object.keys(template.operation.responses).join(", ")}): ${result.text.slice(0, 300)}` });
      return;
    }
    const schema = response.content?.["application/json"]?.schema;
    if (!schema) {
      if (result.text !== "") this.violations.push({ operation: name, status: result.status, problem: `documented without a body, answered ${result.text.slice(0, 200)}` });
      return;
    }
    if (!(result.headers.get("content-type") ?? "").includes("application/json")) {
      this.violations.push({ operation: name, status: result.status, problem: `content type ${result.headers.get("content-type")}` });
      return;
    }
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    if (!validate(result.body)) {
      const first = validate.errors?.[0];
      this.violations.push({ operation: name, status: result.status, problem: `${first?.instancePath || "(body)"} ${first?.message} ${JSON.stringify(first?.params)}` });
    }
  }

  /** The client, with every answer checked. */
  checked(client: Client): Client {
    const wrap = (inner: Client): Client => ({
      call: async (method, path, options) => {
        const result = await inner.call(method, path, options);
        this.check(options?.headers?.["x-http-method-override"] ?? method, path, result);
        return result;
      },
      as: (token) => wrap(inner.as(token)),
    });
    return wrap(client);
  }
}
