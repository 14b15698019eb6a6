export { loadSettings, readConfigFile, ConfigError, REPO_ROOT, type Settings } from './load.ts';
export { engineConfigSchema, enteCodeSchema, enteSchema, type EngineConfig, type EnteConfig, type RetentionConfig } from './schema.ts';
