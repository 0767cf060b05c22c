// SPDX-License-Identifier: Apache-2.0
// Every command, listed explicitly (oclif's "explicit" strategy): no file-system scan at start-up,
// and Node runs these TypeScript files directly.
import Agent from './commands/agent.ts';
import Apply from './commands/apply.ts';
import Completion from './commands/completion.ts';
import Describe from './commands/describe.ts';
import DevDown from './commands/dev/down.ts';
import DevUp from './commands/dev/up.ts';
import Get from './commands/get.ts';
import Init from './commands/init.ts';
import Invoke from './commands/invoke.ts';
import Logs from './commands/logs.ts';
import NodesCordon from './commands/nodes/cordon.ts';
import NodesCredentials from './commands/nodes/credentials.ts';
import NodesLabel from './commands/nodes/label.ts';
import NodesUncordon from './commands/nodes/uncordon.ts';
import Operator from './commands/operator.ts';
import Push from './commands/push.ts';
import RolloutAbort from './commands/rollout/abort.ts';
import RolloutHistory from './commands/rollout/history.ts';
import RolloutPause from './commands/rollout/pause.ts';
import RolloutPromote from './commands/rollout/promote.ts';
import RolloutRestart from './commands/rollout/restart.ts';
import RolloutResume from './commands/rollout/resume.ts';
import RolloutStatus from './commands/rollout/status.ts';
import RolloutUndo from './commands/rollout/undo.ts';
import Sign from './commands/sign/index.ts';
import SignKeygen from './commands/sign/keygen.ts';
import SimSensors from './commands/sim/sensors.ts';

export const COMMANDS = {
  agent: Agent,
  init: Init,
  operator: Operator,
  'sim:sensors': SimSensors,
  apply: Apply,
  completion: Completion,
  describe: Describe,
  'dev:up': DevUp,
  'dev:down': DevDown,
  get: Get,
  invoke: Invoke,
  logs: Logs,
  'nodes:cordon': NodesCordon,
  'nodes:uncordon': NodesUncordon,
  'nodes:label': NodesLabel,
  'nodes:credentials': NodesCredentials,
  push: Push,
  sign: Sign,
  'sign:keygen': SignKeygen,
  'rollout:status': RolloutStatus,
  'rollout:pause': RolloutPause,
  'rollout:resume': RolloutResume,
  'rollout:promote': RolloutPromote,
  'rollout:abort': RolloutAbort,
  'rollout:restart': RolloutRestart,
  'rollout:undo': RolloutUndo,
  'rollout:history': RolloutHistory,
};
