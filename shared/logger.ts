/**
 * JSON lines logger. Secrets never reach the output: known secret-bearing keys are
 * replaced, and any string that looks like a Vexil credential is masked wherever it appears.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const SECRET_KEYS = /^(authorization|cookie|set-cookie|token|password|secret|apikey|api_key|mobilekey|sdkkey|x-api-key)$/i;
/** A generated credential wherever it stands, even glued to other text. */
const CREDENTIAL = /(api|sdk|mob)-[A-Za-z0-9]{12}_[A-Za-z0-9]{28}/g;
const MAX_DEPTH = 6;
const RESERVED = new Set(["time", "level", "msg"]);

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(CREDENTIAL, (_m, p: string) => `${p}-[redacted]`);
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  // A failed query's message lists its parameters (rows being written): never log them.
  if (value instanceof Error) return { name: value.name, message: redact(value.message.replace(/\nparams:[\s\S]*$/, "\nparams: [not logged]")) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : redact(v, depth + 1);
  return out;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stderr.write(line + "\n"),
): Logger {
  const min = rank[level];
  const safeBase = redact(base) as Record<string, unknown>;
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < min) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg: redact(msg) };
    // Fields never overwrite the time, level or message of the line.
    for (const source of [safeBase, fields ? (redact(fields) as Record<string, unknown>) : {}]) {
      for (const [k, v] of Object.entries(source)) if (!RESERVED.has(k)) entry[k] = v;
    }
    write(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

export const silentLogger: Logger = createLogger("silent");
