import express, { type Router } from 'express';
import type { IngestService } from './ingest-service.ts';

/**
 * POST /ingest/:pluginId — body = the raw message, any content type, kept byte for byte.
 * 202 {messageId} once it is committed to the inbox.
 */
export function createIngestRouter(ingest: IngestService, maxBodyBytes: number): Router {
  const router = express.Router();
  router.post(
    '/ingest/:pluginId',
    express.raw({ type: () => true, limit: maxBodyBytes, inflate: true }),
    async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const results = await ingest.acceptAll({
        pluginId: String(req.params.pluginId),
        raw,
        channel: 'http',
        contentType: req.get('content-type') ?? undefined,
      });
      const first = results[0]!;
      res.status(202).json({
        messageId: first.messageId,
        ...(first.duplicate ? { duplicate: true } : {}),
        // A batch body became several messages: all their ids, in order.
        ...(results.length > 1 ? { messageIds: results.map((r) => r.messageId) } : {}),
      });
    },
  );
  return router;
}
