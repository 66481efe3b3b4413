/** The Table-1 representations by name. */
import type { RepName } from '../types.js';
import { mfccRepresentation } from './mfcc.js';
import { audiosetRepresentation, fullRepresentation, layersRepresentation, localRepresentation, mimRepresentation, mlmRepresentation, vggishRepresentation } from './modelReps.js';
import { mtlmrRepresentation } from './mtlmr.js';
import { tlmRepresentation } from './tlm.js';
import type { Representation } from './types.js';

const REGISTRY: Record<RepName, Representation> = {
  mfcc: mfccRepresentation,
  tlm: tlmRepresentation,
  mtlmr: mtlmrRepresentation,
  vggish: vggishRepresentation,
  layers: layersRepresentation,
  audioset: audiosetRepresentation,
  mlm: mlmRepresentation,
  mim: mimRepresentation,
  full: fullRepresentation,
  local: localRepresentation,
};

export function representation(name: RepName): Representation {
  return REGISTRY[name];
}

export type { Representation, RepContext, RepProgress } from './types.js';
