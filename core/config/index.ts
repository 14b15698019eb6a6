export { loadSettings, readConfigFile, ConfigError, REPO_ROOT, type Settings } from './load.ts';
export { engineConfigSchema, enteCodeSchema, type EngineConfig, type EnteConfig } from './schema.ts';
