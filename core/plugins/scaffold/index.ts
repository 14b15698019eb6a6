/** `cdr plugin new`: a plugin folder per format that passes its own check as generated. */
export { scaffoldPlugin, scaffoldValues, ScaffoldError, TEMPLATES_DIR, type ScaffoldRequest, type ScaffoldResult } from './scaffold.ts';
