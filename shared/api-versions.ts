/** The REST API's date-based versions (`LD-API-Version`), newest last; a token's `defaultApiVersion` is one of them. */
export const API_VERSIONS = [20160426, 20191212, 20210729, 20220603, 20240415] as const;
export const CURRENT_API_VERSION = 20240415;
