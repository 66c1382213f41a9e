// How often a durable run snapshots. By default the runner snapshots at most every 250 ms
// (or every 1000 effects), so which safe point gets a snapshot depends on timing. The test
// mode PB_SNAPSHOT_EVERY_SAFE_POINT=1 snapshots at every safe point instead, so that a resume
// from a snapshot taken at any of them is exercised on every run, not one run in two.
import type { RunnerOptions } from '../vm/runner.js';
import { SettingError } from './env-settings.js';

export const SNAPSHOT_ENV = 'PB_SNAPSHOT_EVERY_SAFE_POINT';

export type SnapshotPolicy = Pick<RunnerOptions, 'snapshotMs' | 'snapshotEffects'>;

/** The runner's snapshot settings from the environment: {} for the defaults. */
export function snapshotPolicy(env: NodeJS.ProcessEnv = process.env): SnapshotPolicy {
  const raw = env[SNAPSHOT_ENV];
  if (raw === undefined || raw === '' || raw === '0') return {};
  if (raw === '1') return { snapshotMs: 0, snapshotEffects: 1 };
  throw new SettingError(`error: ${SNAPSHOT_ENV} must be 1 (snapshot at every safe point) or 0 (the default policy), not ${JSON.stringify(raw.slice(0, 40))}`);
}
