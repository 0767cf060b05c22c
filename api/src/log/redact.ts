// SPDX-License-Identifier: Apache-2.0
// The one home of redaction (docs/adr/0035): every URL or secret that may reach a log line, an
// error or a status message (which the broker keeps, retained, for anyone who may read status)
// goes through redactUrl, and every log line through redactLine. Names stay, for debugging;
// passwords, tokens and query values become ***.

const MASK = '***';
/** Where one URL of a comma-separated list starts (a clustered broker: mqtt://a,mqtt://b). */
const NEXT_URL = /,(?=[a-z][a-z0-9+.-]*:\/\/)/i;
/** A URL inside free text, up to whitespace (whatever a password holds, it is taken whole). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;

export interface RedactUrlOptions {
  /**
   * Mask the user name too, whether or not a password follows (a status message anyone may read;
   * a module URL whose user may be a token). Otherwise a user followed by a password stays, as
   * the name of who connected, and a user alone (https://TOKEN@host) is taken as a token.
   */
  readonly hideUser?: boolean;
}

/**
 * A URL, or a clustered broker's comma-separated URLs, as it may be shown: password, query values
 * and (see hideUser) the user become ***. Unchanged when there is nothing to hide. A URL that does
 * not parse is masked by pattern.
 */
export function redactUrl(url: string, options: RedactUrlOptions = {}): string {
  return url
    .split(NEXT_URL)
    .map((one) => redactOne(one, options.hideUser === true))
    .join(',');
}

function redactOne(url: string, hideUser: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const userinfo = hideUser ? '//***@' : '//$1:***@';
    return url.replace(hideUser ? /\/\/[^/@]*@/ : /\/\/([^/@:]*):[^/@]*@/, userinfo).replace(/\?.*$/, '?***');
  }
  let changed = false;
  const userIsSecret = hideUser || (parsed.username !== '' && parsed.password === '');
  if (userIsSecret && parsed.username !== '' && parsed.username !== MASK) {
    parsed.username = MASK;
    changed = true;
  }
  if (parsed.password !== '' && (hideUser || parsed.password !== MASK)) {
    parsed.password = hideUser ? '' : MASK;
    changed = true;
  }
  for (const [key, value] of [...parsed.searchParams]) {
    if (value === MASK) continue;
    parsed.searchParams.set(key, MASK);
    changed = true;
  }
  return changed ? parsed.href : url;
}

/** A broker URL (or a cluster's list) for a log line or an error: its password becomes ***. */
export function brokerForLogs(url: string): string {
  return redactUrl(url);
}

/** Any other URL (a module's, a registry's) for a log line or a status: its user is hidden too. */
export function urlForLogs(url: string): string {
  return redactUrl(url, { hideUser: true });
}

/** Field names whose values are secrets, whatever they hold. */
const SECRET_KEY =
  /^(?:password|passwd|secret|token|authorization|apikey|api_key|credentials?|.*(?:password|secret|token))$/i;

/** A field's value as a log line may carry it (see SECRET_KEY). */
export function redactField(key: string, value: unknown): unknown {
  return SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '' ? MASK : value;
}

/**
 * Text with every URL in it redacted: the logger's guard for URLs that reach a message or a field
 * inside an error's text (a failed fetch, a refused connection) rather than through redactUrl.
 */
export function redactLine(line: string): string {
  return line.includes('://') ? line.replace(URL_IN_TEXT, (url) => redactUrl(url)) : line;
}
