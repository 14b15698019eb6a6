import { CdrError, errorMessage } from '../common/errors.ts';
import type { MessageProcessor } from '../pipeline/processor.ts';
import type { DeadLetterFilter, DeadLetterRepository } from '../storage/dead-letter-repository.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';

export interface DryRunItem {
  deadLetterId: string;
  messageId: string;
  outcome: 'would-store' | 'still-fails';
  stage?: string;
  code?: string;
  reason?: string;
}

export interface DryRunGroup {
  stage: string;
  code: string;
  count: number;
  /** The first reason seen, to read without opening each message. */
  example: string;
  deadLetterIds: string[];
}

export interface DryRunReport {
  examined: number;
  wouldStore: number;
  stillFail: number;
  /** true when more open dead letters matched than `max`: run again after replaying these. */
  truncated: boolean;
  failures: DryRunGroup[];
  items: DryRunItem[];
}

const LOAD_BATCH = 200;

/**
 * Runs the current plugin and mappings over open dead letters without writing anything: which would
 * now be stored, which still fail and why (grouped by stage and code). The store itself is not
 * simulated, so a store-stage failure (e.g. a resource without id) shows up only on replay.
 */
export class DeadLetterDryRun {
  constructor(
    private readonly deadLetters: DeadLetterRepository,
    private readonly inbox: InboxRepository,
    private readonly processor: MessageProcessor,
  ) {}

  async run(filter: DeadLetterFilter, max: number): Promise<DryRunReport> {
    const matches = await this.deadLetters.listIds({ ...filter, status: 'open' }, max + 1);
    const truncated = matches.length > max;
    if (truncated) matches.pop();
    const items: DryRunItem[] = [];
    for (let start = 0; start < matches.length; start += LOAD_BATCH) {
      const batch = matches.slice(start, start + LOAD_BATCH);
      const messages = new Map((await this.inbox.getMany(batch.map((d) => ({ ente: d.ente, messageId: d.messageId })))).map((m) => [m.messageId, m]));
      for (const deadLetter of batch) {
        const message = messages.get(deadLetter.messageId);
        const base = { deadLetterId: deadLetter.id, messageId: deadLetter.messageId };
        if (!message) {
          items.push({ ...base, outcome: 'still-fails', stage: 'receive', code: 'MESSAGE_NOT_FOUND', reason: 'the raw message is no longer in the inbox' });
          continue;
        }
        try {
          const result = await this.processor.process({ messageId: message.messageId, ente: message.ente, pluginId: message.pluginId, raw: message.raw, receivedAt: message.receivedAt });
          items.push(result.ok
            ? { ...base, outcome: 'would-store' }
            : { ...base, outcome: 'still-fails', stage: result.error.stage, code: result.error.code, reason: result.error.message });
        } catch (error) {
          // Transient (e.g. a timeout): it would be retried by the queue; report it as not passing now.
          const cdr = error instanceof CdrError ? error : undefined;
          items.push({ ...base, outcome: 'still-fails', stage: cdr?.stage ?? 'map', code: cdr?.code ?? 'UNEXPECTED', reason: errorMessage(error) });
        }
      }
    }
    const groups = new Map<string, DryRunGroup>();
    for (const item of items) {
      if (item.outcome !== 'still-fails') continue;
      const key = `${item.stage}\u0000${item.code}`;
      const group = groups.get(key) ?? { stage: item.stage!, code: item.code!, count: 0, example: item.reason ?? '', deadLetterIds: [] };
      group.count++;
      if (group.deadLetterIds.length < 20) group.deadLetterIds.push(item.deadLetterId);
      groups.set(key, group);
    }
    const wouldStore = items.filter((i) => i.outcome === 'would-store').length;
    return {
      examined: items.length, wouldStore, stillFail: items.length - wouldStore, truncated,
      failures: [...groups.values()].sort((a, b) => b.count - a.count),
      items,
    };
  }
}
