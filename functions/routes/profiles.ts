/**
 * Kernel profiles, hosts and the explained difference between two targets: the same data and
 * functions as `rollsafe profiles list | show | diff --json` (cli/profiles.ts), over HTTP.
 */
import { profileFile, resolveProfile } from "../../emulator/profiles/loader.ts";
import { builtinHostIds, resolveHost } from "../../emulator/hosts/loader.ts";
import {
  catalogue,
  emptyContext,
  ProfileError,
  resolveTarget,
  type Target,
  type TargetContext,
} from "../../emulator/target.ts";
import { diffTargets } from "../../emulator/profile_diff.ts";
import { Problem } from "../problem.ts";
import type { RouteDef } from "../route.ts";
import { TARGET_PATTERN } from "./verdicts_ledger.ts";

const ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$";

/** A target spec from a request, or a 422 unknown-target carrying the ProfileError's code. */
export function targetOf(spec: string, param: string, ctx: TargetContext = emptyContext()): Target {
  try {
    return resolveTarget(spec, ctx);
  } catch (e) {
    if (e instanceof ProfileError) {
      throw new Problem("unknown-target", `${param}: ${e.message}`, {
        code: e.code,
        where: param,
      });
    }
    throw e;
  }
}

export const PROFILE_ROUTES: RouteDef[] = [
  {
    method: "get",
    path: "/v1/profiles",
    operationId: "listProfiles",
    summary: "Kernel profiles, variants, hosts and the built-in targets",
    tag: "profiles",
    responses: {
      "200": {
        description: "everything a target may name",
        content: {
          "application/json": {
            type: "object",
            required: ["profiles", "variants", "hosts", "targets"],
          },
        },
      },
    },
    problems: [],
    handle: () => Response.json(catalogue()),
  },
  {
    method: "get",
    path: "/v1/profiles/{id}",
    operationId: "getProfile",
    summary: "One profile (variants compose as <profile>+<variant>) with every fact and citation",
    tag: "profiles",
    params: [{
      name: "id",
      in: "path",
      required: true,
      description: "profile id, e.g. linux-6.1 or linux-6.1+iidr-rev1",
      pattern: ID_PATTERN,
    }],
    responses: {
      "200": {
        description: "the resolved profile and, for a built-in, its data file",
        content: { "application/json": { type: "object", required: ["profile"] } },
      },
    },
    problems: ["bad-request", "not-found"],
    handle: ({ path }) => {
      try {
        return Response.json({
          profile: resolveProfile(path.id),
          file: profileFile(path.id) ?? null,
        });
      } catch (e) {
        if (e instanceof ProfileError) {
          throw new Problem("not-found", e.message, { code: e.code });
        }
        throw e;
      }
    },
  },
  {
    method: "get",
    path: "/v1/hosts",
    operationId: "listHosts",
    summary: "Host CPUs with every fact and citation",
    tag: "profiles",
    responses: {
      "200": {
        description: "the hosts",
        content: { "application/json": { type: "object", required: ["hosts"] } },
      },
    },
    problems: [],
    handle: () => Response.json({ hosts: builtinHostIds().map((h) => resolveHost(h)) }),
  },
  {
    method: "get",
    path: "/v1/diff",
    operationId: "diffTargets",
    summary: "What changes between two targets, each difference explained by cited facts",
    description: "Fact rows for every profile or host fact that differs, then the predicted " +
      "KVM_GET_REG_LIST entries and default values that differ for a PSCI 0.2 vCPU; " +
      "`unexplained` counts register rows no differing fact accounts for.",
    tag: "profiles",
    params: [
      {
        name: "from",
        in: "query",
        required: true,
        description: "target id <profile>[+<variant>]@<host>",
        pattern: TARGET_PATTERN,
      },
      {
        name: "to",
        in: "query",
        required: true,
        description: "target id <profile>[+<variant>]@<host>",
        pattern: TARGET_PATTERN,
      },
    ],
    responses: {
      "200": {
        description: "the difference",
        content: {
          "application/json": {
            type: "object",
            required: ["a", "b", "rows", "unexplained"],
          },
        },
      },
    },
    problems: ["bad-request", "unknown-target"],
    handle: ({ query }) =>
      Response.json(diffTargets(targetOf(query.from[0], "from"), targetOf(query.to[0], "to"))),
  },
];
