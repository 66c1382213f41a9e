import { defineConfig } from 'vitest/config';

// The crash and resume suites run twice: with the default snapshot policy (a snapshot at most
// every 250 ms, so which safe point gets one depends on timing) and with a snapshot at every
// safe point (PB_SNAPSHOT_EVERY_SAFE_POINT=1, src/snapshot-policy.ts), so a resume from each
// safe point is tried on every run. In that mode only the tests about crashes and resumes
// run (test/support/select-tests.ts), and the random kill -9 tests do fewer trials.
const EVERY_SAFE_POINT = {
  'durability.test.ts': '^(kill -9 and resume|stopped, failed and finished runs) > ',
  'model.test.ts': '^durability with a model > ',
  'generate.test.ts': '^GeneratePlaybook in a durable run > ',
  'model-replies.test.ts': 'resume',
};

export default defineConfig({
  test: {
    // (No `include` here: a project that extends this config would add its own to it.)
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'every-safe-point',
          include: ['test/durability.test.ts', 'test/deviation.test.ts', 'test/model.test.ts', 'test/generate.test.ts', 'test/model-replies.test.ts'],
          setupFiles: ['test/support/select-tests.ts'],
          env: { PB_SNAPSHOT_EVERY_SAFE_POINT: '1', DUR_TRIALS: '8', MODEL_KILL_TRIALS: '3', PB_TEST_SELECT: JSON.stringify(EVERY_SAFE_POINT) },
        },
      },
    ],
  },
});
