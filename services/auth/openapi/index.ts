/** The auth service's named schemas: the component schemas its routes' documentation names. */
import { memberComponents } from "./members.ts";
import { roleComponents } from "./roles.ts";
import { sessionComponents } from "./sessions.ts";
import { tokenComponents } from "./tokens.ts";

export const authComponents = {
  ...tokenComponents,
  ...memberComponents,
  ...roleComponents,
  ...sessionComponents,
};
