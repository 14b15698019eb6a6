import express, { type Router } from 'express';
import { displayPath, formatLoadError, type PluginRegistry, type PluginSummary } from '../plugins/index.ts';
import { HttpError } from '../server/http-errors.ts';

function view(summary: PluginSummary) {
  return {
    ...summary,
    dir: displayPath(summary.dir),
    // One readable line per problem, for people reading the JSON in a terminal.
    problems: summary.errors.map(formatLoadError),
  };
}

/**
 * GET /admin/plugins — every plugin folder with its status (active, disabled, error); a broken plugin is
 * listed with the file, field (and line:column) of each problem. GET /admin/plugins/:id — one of them.
 */
export function createPluginsRouter(plugins: PluginRegistry): Router {
  const router = express.Router();
  router.get('/admin/plugins', (_req, res) => {
    res.json({ items: plugins.list().map(view), next: null });
  });
  router.get('/admin/plugins/:pluginId', (req, res) => {
    const summary = plugins.summary(String(req.params.pluginId));
    if (!summary) throw new HttpError(404, 'PLUGIN_NOT_FOUND', `no plugin folder "${String(req.params.pluginId)}"`);
    res.json(view(summary));
  });
  return router;
}
