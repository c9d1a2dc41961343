/** A throwaway nats-server for tests (see infra/local/nats.ts). */
export { startNats, type NatsServer } from "../../infra/local/nats.ts";
