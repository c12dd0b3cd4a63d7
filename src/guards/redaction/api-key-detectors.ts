import type { Detector } from "./detector.ts";

/** AWS's own documentation keys (AKIAIOSFODNN7EXAMPLE and its secret) are examples, not credentials. */
const notAwsExample = ({ value }: { value: string }): boolean => !value.includes("EXAMPLE");

/**
 * Keys and tokens of cloud and SaaS providers, recognised by the prefixes and lengths the providers document.
 * Each pattern is anchored so that a longer word or path containing the same letters does not match.
 */
export const API_KEY_DETECTORS: readonly Detector[] = [
  {
    type: "aws_access_key_id",
    class: "secrets",
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
    hint: /AKIA|ASIA/,
    validate: notAwsExample,
  },
  {
    type: "github_token",
    class: "secrets",
    pattern: /(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![\w-])/g,
    hint: /gh[pousr]_|github_pat_/,
  },
  {
    type: "gitlab_token",
    class: "secrets",
    pattern: /(?<![\w-])gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}(?![\w-])/g,
    hint: /gl(?:pat|dt|rt|ptt)-/,
  },
  {
    type: "slack_token",
    class: "secrets",
    pattern:
      /(?<![\w-])(?:xox[abposr]-(?:\d{6,}-){1,3}[A-Za-z0-9]{16,}|xapp-\d-[A-Z0-9]{8,}-\d{8,}-[a-f0-9]{32,}|xox[abposr]-[A-Za-z0-9-]{30,})(?![\w-])|https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/T[A-Z0-9]{6,}\/[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g,
    hint: /xox[abposr]-|xapp-|hooks\.slack\.com/,
  },
  {
    type: "stripe_key",
    class: "secrets",
    pattern: /(?<![\w-])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,99}|whsec_[A-Za-z0-9]{24,64})(?![\w-])/g,
    hint: /(?:sk|rk)_(?:live|test)_|whsec_/,
  },
  {
    type: "google_api_key",
    class: "secrets",
    pattern: /(?<![\w-])(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[0-9A-Za-z_-]{28})(?![\w-])/g,
    hint: /AIza|GOCSPX-/,
  },
  {
    type: "anthropic_api_key",
    class: "secrets",
    pattern: /(?<![\w-])sk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_-]{32,}(?![\w-])/g,
    hint: /sk-ant-/,
  },
  {
    type: "openai_api_key",
    class: "secrets",
    pattern:
      /(?<![\w-])(?:sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![\w-])/g,
    hint: /sk-/,
  },
  {
    type: "sendgrid_api_key",
    class: "secrets",
    pattern: /(?<![\w-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])/g,
    hint: /SG\./,
  },
  {
    type: "npm_token",
    class: "secrets",
    pattern: /(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])/g,
    hint: /npm_/,
  },
];
