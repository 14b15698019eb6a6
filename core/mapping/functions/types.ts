/** One function of the library bound into every mapping as `$name`. */
export interface MappingFunction {
  name: string;
  /** JSONata signature (documentation and interpreter-side argument checking). */
  signature?: string;
  doc: string;
  example?: string;
  implementation: (...args: never[]) => unknown;
}

/** Values fixed per plugin that the functions need (zone, Ente, identifier table...). */
export interface MappingFunctionContext {
  ente: string;
  timeZone: string;
}

export class MappingFunctionError extends Error {
  constructor(message: string, readonly functionName: string) {
    super(message);
    this.name = 'MappingFunctionError';
  }
}
