export const GROUP = 'wasmfleet.io';
