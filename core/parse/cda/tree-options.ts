/**
 * The CDA R2 elements (POCD_MT000040) that can repeat where they occur: always arrays in the tree,
 * so mappings read them the same way whether a document has one or several.
 * Address parts other than streetAddressLine, and the other CDA elements, are single values unless a
 * document repeats them (then they become arrays too; JSONata paths read both forms alike).
 */
export const CDA_ARRAY_ELEMENTS: ReadonlySet<string> = new Set([
  // header
  'realmCode', 'templateId', 'id', 'recordTarget', 'author', 'informant', 'authenticator', 'informationRecipient',
  'participant', 'inFulfillmentOf', 'documentationOf', 'relatedDocument', 'authorization', 'encounterParticipant',
  // body
  'component', 'entry', 'entryRelationship', 'reference', 'precondition', 'referenceRange', 'specimen', 'performer',
  'interpretationCode', 'methodCode', 'targetSiteCode', 'approachSiteCode',
  // data types and roles
  'translation', 'qualifier', 'telecom', 'addr', 'name', 'given', 'family', 'prefix', 'suffix', 'streetAddressLine',
  'guardian', 'languageCommunication', 'raceCode', 'ethnicGroupCode',
]);

/** Repeatable only under some parents (SXCM_TS in substanceAdministration/supply, Observation.value 0..*). */
export const CDA_ARRAYS_UNDER: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['effectiveTime', new Set(['substanceAdministration', 'supply'])],
  ['value', new Set(['observation', 'regionOfInterest'])],
]);

/** Narrative blocks: `section/text` keeps its XHTML-like content as written (see $narrative). */
export const CDA_RAW_ELEMENTS: ReadonlyMap<string, ReadonlySet<string>> = new Map([['text', new Set(['section'])]]);

export const CDA_NAMESPACE = 'urn:hl7-org:v3';
