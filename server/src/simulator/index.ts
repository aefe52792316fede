/** Public API of the simulator library. */
export { startFleet, type Fleet, type FleetOptions } from './fleet.js';
export { VirtualDevice, DECLINE_REPLY_CODE, BUSY_REPLY_CODE, type DeviceState } from './device.js';
export { loadFleetFile, parseFleet, type FleetDeviceSpec } from './fleet-file.js';
export {
  BEHAVIOURS,
  MIX_BEHAVIOURS,
  FAILURE_BEHAVIOURS,
  assignBehaviours,
  parseBehaviourMix,
  type Behaviour,
  type BehaviourMix,
} from './behaviour.js';
export { formatStats, type FleetStats } from './stats.js';
