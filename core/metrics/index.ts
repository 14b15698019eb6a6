export { EngineMetrics, oldestWaitingSeconds, type MetricsSources } from './engine-metrics.ts';
export { AlertEvaluator, type AlertState, type AlertConfig, type AlertEvaluatorOptions } from './alerts.ts';
export { createMetricsRouter } from './routes.ts';
