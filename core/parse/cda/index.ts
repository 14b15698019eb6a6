export { cdaFormat, parseCda } from './cda-format.ts';
export { cdaSourceMessageId, readCdaHeaderFacts, cdaFactsFromTree, type CdaDocumentFacts } from './document-facts.ts';
export { CDA_ARRAY_ELEMENTS, CDA_ARRAYS_UNDER, CDA_RAW_ELEMENTS, CDA_NAMESPACE } from './tree-options.ts';
export { cdaNarrativeToXhtml, cdaNarrativeToText, XHTML_NAMESPACE } from './narrative.ts';
