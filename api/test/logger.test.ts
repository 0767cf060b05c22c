// SPDX-License-Identifier: Apache-2.0
// The shared logger and its redaction (docs/adr/0035): what a line holds in each format, which
// lines a level lets through, and that no password, token or query value of a URL — in a message,
// a field or an error's text — and no secret-named field ever reaches a line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger, parseLogSettings, redactUrl, type LogFormat, type Logger } from '../src/index.ts';

function capture(format: LogFormat, level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const lines: string[] = [];
  const log: Logger = createLogger({ component: 'test', format, level, write: (l) => lines.push(l) });
  return { log, lines };
}

describe('logger', () => {
  it('writes one JSON object per line: time, level, component, msg, then the fields of the logger and the call', () => {
    const { log, lines } = capture('json');
    log.with({ controller: 'wasmfunction' }).info('reconciled', { object: 'ns/f', reconcileID: 'id-1' });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry), [
      'time',
      'level',
      'component',
      'msg',
      'controller',
      'object',
      'reconcileID',
    ]);
    assert.deepEqual(
      { ...entry, time: undefined },
      {
        time: undefined,
        level: 'info',
        component: 'test',
        msg: 'reconciled',
        controller: 'wasmfunction',
        object: 'ns/f',
        reconcileID: 'id-1',
      },
    );
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))));
  });

  it('writes readable text: time, level, component, message, then key=value (quoted when needed)', () => {
    const { log, lines } = capture('text');
    log.warn('watch failed', { what: 'edgenodes', error: new TypeError('boom here'), n: 3 });
    assert.match(
      lines[0] ?? '',
      /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}test: watch failed what=edgenodes error="TypeError: boom here" n=3\n$/,
    );
  });

  it('drops lines below its level, and says which levels are on', () => {
    const { log, lines } = capture('json', 'warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['w', 'e'],
    );
    assert.equal(log.enabled('info'), false);
    assert.equal(log.enabled('error'), true);
  });

  it('takes its level and format from flags, else WASMFLEET_LOG_*, and refuses others by name', () => {
    assert.deepEqual(parseLogSettings({}, {}), {});
    assert.deepEqual(parseLogSettings({ 'log-level': 'DEBUG' }, { WASMFLEET_LOG_LEVEL: 'error' }), {
      level: 'debug',
    });
    assert.deepEqual(parseLogSettings({}, { WASMFLEET_LOG_LEVEL: 'warn', WASMFLEET_LOG_FORMAT: 'text' }), {
      level: 'warn',
      format: 'text',
    });
    assert.throws(
      () => parseLogSettings({ 'log-level': 'verbose' }, {}),
      /--log-level "verbose": use one of debug, info, warn, error/,
    );
    assert.throws(
      () => parseLogSettings({}, { WASMFLEET_LOG_FORMAT: 'xml' }),
      /WASMFLEET_LOG_FORMAT "xml": use one of json, text/,
    );
  });
});

describe('redaction', () => {
  it('keeps who connected and where, not the password, the token or a query value', () => {
    assert.equal(redactUrl('mqtts://dev:s3cret@b:8883'), 'mqtts://dev:***@b:8883');
    assert.equal(redactUrl('mqtt://b:1883'), 'mqtt://b:1883', 'nothing to hide: unchanged');
    assert.equal(
      redactUrl('https://ghp_TOKEN@host/m.wasm'),
      'https://***@host/m.wasm',
      'a user alone is a token',
    );
    assert.equal(
      redactUrl('https://h/m.wasm?X-Amz-Signature=abc&v=1'),
      'https://h/m.wasm?X-Amz-Signature=***&v=***',
    );
    assert.equal(redactUrl('mqtt://u:p@a,mqtt://u:p@b'), 'mqtt://u:***@a,mqtt://u:***@b');
    assert.equal(redactUrl('https://u:p@h/m.wasm', { hideUser: true }), 'https://***@h/m.wasm');
    assert.equal(redactUrl(redactUrl('mqtt://u:p@h:1')), 'mqtt://u:***@h:1', 'idempotent');
  });

  it('masks fields named like secrets at any depth, and URLs anywhere in a line', () => {
    const { log, lines } = capture('json');
    log.error('fetch of https://u:pw1@registry.example/m.wasm?sig=sig1 failed', {
      password: 'pw2',
      auth: { token: 'tok1' },
      error: new Error('connect ECONNREFUSED mqtt://dev:pw3@127.0.0.1:1'),
    });
    const line = lines[0] ?? '';
    for (const secret of ['pw1', 'sig1', 'pw2', 'tok1', 'pw3'])
      assert.ok(!line.includes(secret), `${secret} in ${line}`);
    assert.match(line, /"password":"\*\*\*"/);
    assert.match(line, /mqtt:\/\/dev:\*\*\*@127\.0\.0\.1:1/);
  });

  it('no password, token or query value of a URL reaches a line, whatever they hold (fuzz)', () => {
    const secret = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s) => `SECRET${s}`);
    fc.assert(
      fc.property(
        fc.constantFrom<LogFormat>('json', 'text'),
        fc.constantFrom('http', 'https', 'mqtt', 'mqtts', 'ws', 'wss'),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)),
        secret,
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), secret), { maxLength: 3 }),
        fc.boolean(),
        (format, scheme, user, password, query, inField) => {
          const auth =
            user === null ? `${encodeURIComponent(password)}@` : `${user}:${encodeURIComponent(password)}@`;
          const search = query.length
            ? `?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`
            : '';
          const url = `${scheme}://${auth}host.example:8443/path${search}`;
          const { log, lines } = capture(format);
          if (inField) log.warn('cannot reach the broker', { broker: url });
          else log.warn(`cannot reach ${url}; retrying`);
          const line = lines[0] ?? '';
          // The marker is plain ASCII, so it shows as itself however the rest is encoded.
          assert.ok(!line.includes('SECRET'), line);
          assert.match(line, /host\.example:8443\/path/);
        },
      ),
      { numRuns: 500 },
    );
  });
});
