import express, { type Router } from 'express';
import type { EngineMetrics } from './engine-metrics.ts';

/** GET /metrics in the Prometheus text format (no token, like /health: it carries no patient data). */
export function createMetricsRouter(metrics: EngineMetrics): Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.metrics();
    res.set('content-type', metrics.contentType).send(text);
  });
  return router;
}
