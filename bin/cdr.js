#!/usr/bin/env node
// The engine is TypeScript run through tsx's loader, so plugin hooks written in TypeScript load the same way.
import { register } from 'tsx/esm/api';

register();
await import('../core/cli/main.ts');
