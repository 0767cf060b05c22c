export const WIRE_VERSION = 'v1';
