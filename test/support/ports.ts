export { freePort, waitForPort } from "../../infra/local/ports.ts";
