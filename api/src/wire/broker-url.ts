// A broker URL as it may appear in a log line or an error: without its password.

/** The broker URL for a log line: a password in it (mqtt://user:secret@host) becomes ***. */
export function brokerForLogs(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
  }
}
