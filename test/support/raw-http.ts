/** Raw HTTP over a TCP socket, for requests no HTTP client would send (HTTP/1.0 without Host, CONNECT). */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
  /** Everything the server sent, headers included. */
  text: string;
}

/** Sends `request` as written and reads until the server closes the connection (or `timeoutMs`). */
export function rawRequest(port: number, request: string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const [headers = "", body = ""] = splitOnce(text, "\r\n\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1] ?? 0);
      resolve({ status, headers, body, text });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      // A complete response with a Content-Length: no need to wait for the close.
      const [headers, body] = splitOnce(text, "\r\n\r\n");
      const length = /content-length: *(\d+)/i.exec(headers ?? "")?.[1];
      if (body !== undefined && length !== undefined && Buffer.byteLength(body) >= Number(length)) done();
    });
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", (e) => (text ? done() : reject(e)));
  });
}

function splitOnce(s: string, separator: string): [string, string | undefined] {
  const at = s.indexOf(separator);
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + separator.length)];
}
