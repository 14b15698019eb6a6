import { existsSync, mkdirSync } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CdrError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { formatParser } from '../parse/index.ts';
import type { LoadedPlugin, PluginRegistry } from '../plugins/registry.ts';
import type { IngestService } from './ingest-service.ts';

export interface FileDropOptions {
  dataDir: string;
  plugins: PluginRegistry;
  ingest: IngestService;
  logger: Logger;
  intervalMs?: number;
  /** A file must be unchanged for this long before it is read (the writer may still be writing). */
  settleMs?: number;
}

export interface FileDropResult {
  file: string;
  outcome: 'processed' | 'failed' | 'retry';
  messages: number;
  reason?: string;
}

const IGNORED = /^\.|\.(tmp|part|partial|filepart)$/i;

/**
 * File drop: CDR_DATA_DIR/inbox/<plugin>/ per plugin. Each file is split into messages (HL7 batch
 * files, several messages in one file, XML record batches), every message is committed to the
 * inbox, and only then is the file moved to processed/ (or to failed/ with a .reason.txt beside it).
 * A file whose messages cannot be committed now (storage down) stays where it is for the next scan.
 */
export class FileDropWatcher {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<FileDropResult[]> | undefined;

  constructor(private readonly options: FileDropOptions) {}

  dropDir(pluginId: string): string {
    return path.join(this.options.dataDir, 'inbox', pluginId);
  }

  start(): void {
    for (const plugin of this.options.plugins.active()) {
      for (const sub of ['', 'processed', 'failed']) mkdirSync(path.join(this.dropDir(plugin.id), sub), { recursive: true });
    }
    this.timer = setInterval(() => void this.scanOnce().catch(() => undefined), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  async scanOnce(): Promise<FileDropResult[]> {
    if (this.scanning) return this.scanning;
    this.scanning = this.scan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scan(): Promise<FileDropResult[]> {
    const results: FileDropResult[] = [];
    for (const plugin of this.options.plugins.active()) {
      const dir = this.dropDir(plugin.id);
      if (!existsSync(dir)) continue;
      const entries = await readdir(dir, { withFileTypes: true });
      for (const entry of entries.filter((e) => e.isFile() && !IGNORED.test(e.name)).sort((a, b) => a.name.localeCompare(b.name))) {
        const file = path.join(dir, entry.name);
        const info = await stat(file).catch(() => undefined);
        if (!info || Date.now() - info.mtimeMs < (this.options.settleMs ?? 500)) continue;
        results.push(await this.processFile(plugin, file));
      }
    }
    return results;
  }

  private async processFile(plugin: LoadedPlugin, file: string): Promise<FileDropResult> {
    const name = path.basename(file);
    const raw = await readFile(file);
    const parser = formatParser(plugin.manifest.format);
    let parts: Buffer[];
    try {
      parts = parser.split ? parser.split(raw, plugin.manifest) : [raw];
    } catch (error) {
      return this.fail(file, `cannot split the file into messages: ${errorMessage(error)}`);
    }
    let accepted = 0;
    const rejected: string[] = [];
    for (const [index, part] of parts.entries()) {
      try {
        await this.options.ingest.accept({ pluginId: plugin.id, raw: part, channel: 'file' });
        accepted++;
      } catch (error) {
        if (error instanceof CdrError && !error.transient) {
          rejected.push(`message ${index + 1}: ${error.message}`);
          continue;
        }
        // Storage or queue down: leave the file; what was accepted is deduplicated on the next scan.
        this.options.logger.warn({ file: name, err: errorMessage(error) }, 'file drop: cannot accept now, will retry');
        return { file, outcome: 'retry', messages: accepted, reason: errorMessage(error) };
      }
    }
    if (rejected.length > 0 && accepted === 0) return this.fail(file, rejected.join('\n'));
    const target = path.join(path.dirname(file), 'processed', `${new Date().toISOString().replace(/[:.]/g, '-')}_${name}`);
    await rename(file, target);
    if (rejected.length > 0) await writeFile(`${target}.reason.txt`, `${rejected.length} message(s) of the file were refused:\n${rejected.join('\n')}\n`);
    this.options.logger.info({ plugin: plugin.id, file: name, messages: accepted }, 'file drop: file accepted');
    return { file, outcome: 'processed', messages: accepted, ...(rejected.length ? { reason: rejected.join('; ') } : {}) };
  }

  private async fail(file: string, reason: string): Promise<FileDropResult> {
    const target = path.join(path.dirname(file), 'failed', path.basename(file));
    await rename(file, target);
    await writeFile(`${target}.reason.txt`, `${reason}\n`);
    this.options.logger.warn({ file: path.basename(file) }, 'file drop: file refused');
    return { file, outcome: 'failed', messages: 0, reason };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
