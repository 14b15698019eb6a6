// Jest loads global setup outside its module system; tsx lets it import the engine's TypeScript.
import { tsImport } from 'tsx/esm/api';

const { default: setup } = await tsImport('./global-setup-impl.ts', import.meta.url);
export default setup;
