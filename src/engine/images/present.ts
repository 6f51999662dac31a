/** How images are shown to users: docker's names and fields, so scripts written for docker work. */
import { familiarName, parseReference } from '../reference/reference.ts';
import type { ImageRecord } from './records.ts';

/** One row of `tsc images`, with docker's field names (usable as {{.Repository}} etc.). */
export interface ImageSummary {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedAt: string;
  CreatedSince: string;
  Size: string;
  /** bytes, for sorting and --format '{{.VirtualSize}}' */
  VirtualSize: number;
}

export function summarise(image: ImageRecord, now = Date.now()): ImageSummary[] {
  const names = image.tags.length > 0 ? image.tags : [undefined];
  const digest = image.repoDigests[0]?.split('@')[1] ?? '<none>';
  return names.map((name) => {
    let repository = '<none>';
    let tag = '<none>';
    if (name) {
      const ref = parseReference(name);
      repository = familiarName({ registry: ref.registry, repository: ref.repository });
      tag = ref.tag ?? '<none>';
    }
    return {
      ID: image.id,
      Repository: repository,
      Tag: tag,
      Digest: digest,
      CreatedAt: image.created,
      CreatedSince: image.created ? since(Date.parse(image.created), now) : 'N/A',
      Size: humanSize(image.size),
      VirtualSize: image.size,
    };
  });
}

/** docker's units: powers of 1000, three significant digits (`4.26MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))}${units[unit]}`;
}

/** "3 days ago": docker's CreatedSince wording (its human-duration buckets). */
export function since(then: number, now: number): string {
  return `${humanDuration(Math.max(0, now - then))} ago`;
}

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 14) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 60) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 730) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
