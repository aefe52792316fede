/** Public API of the simulator library (docs/simulator.md): tagged @public for knip, used or not. */
/** @public */
export { startFleet, type Fleet, type FleetOptions } from './fleet.js';
/** @public */
export { VirtualDevice, DECLINE_REPLY_CODE, BUSY_REPLY_CODE, type DeviceState } from './device.js';
/** @public */
export { loadFleetFile, parseFleet, type FleetDeviceSpec } from './fleet-file.js';
/** @public */
export {
  BEHAVIOURS,
  MIX_BEHAVIOURS,
  FAILURE_BEHAVIOURS,
  assignBehaviours,
  parseBehaviourMix,
  type Behaviour,
  type BehaviourMix,
} from './behaviour.js';
/** @public */
export { formatStats, type FleetStats } from './stats.js';
