// Every command, listed explicitly (oclif's "explicit" strategy): no file-system scan at start-up,
// and Node runs these TypeScript files directly.
import Apply from './commands/apply.ts';
import Describe from './commands/describe.ts';
import Get from './commands/get.ts';
import NodesCordon from './commands/nodes/cordon.ts';
import NodesLabel from './commands/nodes/label.ts';
import NodesUncordon from './commands/nodes/uncordon.ts';

export const COMMANDS = {
  apply: Apply,
  describe: Describe,
  get: Get,
  'nodes:cordon': NodesCordon,
  'nodes:uncordon': NodesUncordon,
  'nodes:label': NodesLabel,
};
