// The example API server's public surface under its folder name, for imports of
// `examples/api-server/index.js`; the implementation's entry point is examples/api-server.ts.
export * from '../api-server.js';
