const KEEL_TOKEN = /keel_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/g;
const BEARER = /(bearer[ \t]+)[^\s"',;]+/gi;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)[^@\s/]+@/gi;

/**
 * A log filter: masks Keel API keys, bearer credentials, passwords in URLs and the given secret values (provider
 * keys and other secrets the composition root read), so no log line carries one even when an error quotes it.
 */
export function createSecretScrubber(
  secrets: readonly (string | undefined)[] = [],
): (text: string) => string {
  const values = [
    ...new Set(secrets.filter((secret): secret is string => !!secret && secret.length >= 8)),
  ].sort((a, b) => b.length - a.length);
  return (text) => {
    let scrubbed = text
      .replace(KEEL_TOKEN, (token) => `${token.slice(0, 21)}_***`)
      .replace(BEARER, "$1***")
      .replace(URL_PASSWORD, "$1***@");
    for (const value of values) scrubbed = scrubbed.split(value).join("***");
    return scrubbed;
  };
}
