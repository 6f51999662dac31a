/**
 * The volumes domain, for the rest of the engine (the container lifecycle uses
 * attachVolumes/detachVolumes); commands reach it through the engine facade.
 */
export { attachVolumes, containerVolumes, detachVolumes, type AttachVolumesOptions, type ContainerVolume, type DetachVolumesOptions } from './attach.ts';
export { createVolume, type CreateVolumeOptions } from './create.ts';
export { inspectVolumes, type VolumeInspectReport } from './inspect.ts';
export { listVolumes, type VolumeListOptions, type VolumeSummary } from './list.ts';
export { pruneVolumes, type VolumePruneOptions, type VolumePruneResult } from './prune.ts';
export { removeVolumes, type VolumeRemoveReport } from './remove.ts';
export type { PopulateReport } from './populate.ts';
export { volumeUsers, type VolumeInspect, type VolumeUser } from './store.ts';
