/**
 * The public paths the streaming service answers (every SDK endpoint); everything else is the
 * gateway's. The all-in-one process routes by it, and so does the edge in front of a distributed
 * deployment (`infra/edge/`).
 */
export const STREAMING_PATHS = /^\/(all|bulk|diagnostic|sdk\/|msdk\/|eval\/|meval|ping\/|mping|events\/|mobile|ofrep\/)/;
