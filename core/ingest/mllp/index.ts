export { MllpListener, type MllpListenerOptions } from './listener.ts';
export { MllpFramer, frame, VT, FS, CR, type FrameEvent } from './framer.ts';
export { buildAck, isEnhancedMode, type AckCode, type AckError } from './ack.ts';
