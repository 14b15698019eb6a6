import { CdrError, HookError, errorMessage } from '../common/errors.ts';
import type { FhirResource } from '../storage/types.ts';
import type { HookContext, HookName, PluginHooks } from './api.ts';

export interface HookGuardOptions {
  pluginId: string;
  timeoutMs: number;
  /** Facts the loader knows and the pipeline does not pass (format, time zone). */
  extraContext: Pick<HookContext, 'format' | 'timeZone'>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

async function withTimeout<T>(name: HookName, options: HookGuardOptions, run: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HookError(`the ${name} hook of plugin ${options.pluginId} did not finish within ${options.timeoutMs} ms`, {
        code: 'HOOK_TIMEOUT', details: { hook: name, plugin: options.pluginId },
      })),
      options.timeoutMs,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(run), timeout]);
  } catch (error) {
    if (error instanceof CdrError) throw error;
    throw new HookError(`the ${name} hook of plugin ${options.pluginId} failed: ${errorMessage(error)}`, {
      code: 'HOOK_FAILED', details: { hook: name, plugin: options.pluginId }, cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

function unusable(name: HookName, options: HookGuardOptions, expected: string, got: unknown): HookError {
  return new HookError(`the ${name} hook of plugin ${options.pluginId} returned ${describe(got)}; it must return ${expected}`, {
    code: 'HOOK_BAD_RESULT', details: { hook: name, plugin: options.pluginId },
  });
}

/**
 * Wraps a plugin's hooks so that whatever they do, the pipeline sees either a usable value or a
 * HookError (stage "hook", permanent): thrown errors, wrong return types and time-outs included.
 * Only hooks the plugin defines are wrapped, so the pipeline can still skip absent ones.
 * (A hook stuck in a synchronous loop cannot be interrupted from JavaScript; the time limit covers async waits.)
 */
export function guardHooks(hooks: PluginHooks, options: HookGuardOptions): PluginHooks {
  const context = (base: HookContext): HookContext => {
    // The pipeline's context object is updated as the message advances (routeKey); read it through.
    return Object.freeze({
      get pluginId() { return base.pluginId; },
      get pluginVersion() { return base.pluginVersion; },
      get ente() { return base.ente; },
      get messageId() { return base.messageId; },
      get receivedAt() { return base.receivedAt; },
      get routeKey() { return base.routeKey; },
      get logger() { return base.logger; },
      format: options.extraContext.format,
      timeZone: options.extraContext.timeZone,
      warn: (message: string) => base.warn(String(message)),
    });
  };
  const guarded: PluginHooks = {};
  const { preParse, postParse, postMap } = hooks;
  if (preParse) {
    guarded.preParse = async (raw, ctx) => {
      const result: unknown = await withTimeout('preParse', options, () => preParse.call(hooks, raw, context(ctx)));
      if (result === undefined || typeof result === 'string' || Buffer.isBuffer(result)) return result;
      if (result instanceof Uint8Array) return Buffer.from(result);
      throw unusable('preParse', options, 'a Buffer, a string or nothing', result);
    };
  }
  if (postParse) {
    guarded.postParse = async (tree, ctx) => {
      const result: unknown = await withTimeout('postParse', options, () => postParse.call(hooks, tree, context(ctx)));
      if (result === undefined || (typeof result === 'object' && result !== null && !Array.isArray(result))) return result;
      throw unusable('postParse', options, 'the tree (an object) or nothing', result);
    };
  }
  if (postMap) {
    guarded.postMap = async (resources, ctx) => {
      const result: unknown = await withTimeout('postMap', options, () => postMap.call(hooks, resources, context(ctx)));
      if (result === undefined) return undefined;
      if (!Array.isArray(result)) throw unusable('postMap', options, 'an array of FHIR resources or nothing', result);
      result.forEach((item: unknown, index: number) => {
        if (typeof item !== 'object' || item === null || typeof (item as FhirResource).resourceType !== 'string') {
          throw new HookError(`the postMap hook of plugin ${options.pluginId} returned an array whose item ${index} is not a FHIR resource (no resourceType)`, {
            code: 'HOOK_BAD_RESULT', details: { hook: 'postMap', plugin: options.pluginId },
          });
        }
      });
      return result as FhirResource[];
    };
  }
  return guarded;
}
