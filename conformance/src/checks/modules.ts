// SPDX-License-Identifier: Apache-2.0
// Modules: fetched from their topic or their URL, and never run unless their bytes hash to the
// digest the document names.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, type Check, type CheckContext } from '../check.ts';
import { fnReport, sha256Hex } from '../fleet.ts';
import { variant } from '../guests.ts';
import { noOutput, roundTrip } from './desired.ts';

/** Serves `bytes` at http://127.0.0.1:<port>/module.wasm until the check ends. */
async function serveModule(ctx: CheckContext, bytes: Uint8Array): Promise<string> {
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/module.wasm`;
}

/** Waits until `name` settles (Failed, or Running when the runtime wrongly runs it) and checks it failed for `reason`. */
async function expectFailed(ctx: CheckContext, node: string, name: string, reason: string): Promise<void> {
  const settled = new Set(['Failed', 'Running']);
  const s = await ctx.fleet.waitForStatus(
    node,
    `${name} Failed`,
    (x) => settled.has(fnReport(x, name)?.phase ?? ''),
    ctx.within(40_000),
  );
  const f = fnReport(s, name);
  expect(
    f?.phase === 'Failed',
    `${name} is ${String(f?.phase)}: it should never run (expected Failed, ${reason})`,
  );
  expect(f.reason === reason, `${name} failed with reason ${String(f.reason)}, not ${reason}`);
  expect((f.message ?? '') !== '', `${name} failed without a message`);
}

export const moduleChecks: readonly Check[] = [
  {
    name: 'module.fetch-url',
    title: 'fetches a module from module.url when it is not on the broker, checking its digest',
    contract: 'docs/mqtt-contract.md#module-envelope',
    async run(ctx) {
      const node = ctx.node();
      const bytes = variant(ctx.guests.probe, 'url');
      const url = await serveModule(ctx, bytes);
      await ctx.startAgent({ node });
      const fn = ctx.fn('echo', bytes);
      await ctx.fleet.publishDesired(node, 1, [{ ...fn, module: { ...fn.module, url } }]);
      await ctx.fleet.running(node, 'echo', ctx.within(30_000));
      await roundTrip(ctx, node, 'echo', 'from-url');
    },
  },
  {
    name: 'module.digest-mismatch-topic',
    title: 'a module envelope whose bytes do not hash to the digest is never run: Failed, DigestMismatch',
    contract: 'docs/mqtt-contract.md#module-envelope',
    async run(ctx) {
      const node = ctx.node();
      const claimed = variant(ctx.guests.probe, 'claimed');
      // The envelope on the claimed module's topic carries other (working) bytes.
      await ctx.fleet.publishModule(variant(ctx.guests.probe, 'tampered'), sha256Hex(claimed));
      await ctx.startAgent({ node });
      await ctx.fleet.publishDesired(node, 1, [ctx.fn('echo', claimed)]);
      await expectFailed(ctx, node, 'echo', 'DigestMismatch');
      await noOutput(ctx, node, 'echo', 'tampered-must-not-run');
    },
  },
  {
    name: 'module.digest-mismatch-url',
    title:
      'bytes downloaded from module.url that do not hash to the digest are never run: Failed, DigestMismatch',
    contract: 'docs/mqtt-contract.md#module-envelope',
    async run(ctx) {
      const node = ctx.node();
      const claimed = variant(ctx.guests.probe, 'claimed-url');
      const url = await serveModule(ctx, variant(ctx.guests.probe, 'tamperd-url'));
      await ctx.startAgent({ node });
      const fn = ctx.fn('echo', claimed);
      await ctx.fleet.publishDesired(node, 1, [{ ...fn, module: { ...fn.module, url } }]);
      await expectFailed(ctx, node, 'echo', 'DigestMismatch');
      await noOutput(ctx, node, 'echo', 'tampered-must-not-run');
    },
  },
  {
    name: 'module.too-large',
    title: 'a module larger than limits.maxModuleBytes is refused: Failed, ModuleTooLarge',
    contract: 'docs/mqtt-contract.md#node-status-nodestatus',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      await ctx.startAgent({ node });
      const fn = ctx.fn('big', ctx.guests.probe);
      await ctx.fleet.publishDesired(node, 1, [{ ...fn, limits: { ...fn.limits, maxModuleBytes: 64 } }]);
      await expectFailed(ctx, node, 'big', 'ModuleTooLarge');
    },
  },
];

export { expectFailed };
