/**
 * Every command, by id (topic and verb joined by ':'). oclif's "explicit" discovery reads
 * this map, so the whole CLI bundles into one file with no lookups on disk.
 */
import Info from './info.ts';
import Version from './version.ts';

export const commands = {
  info: Info,
  version: Version,
};
