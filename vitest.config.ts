import { defineConfig } from "vitest/config";

// Three projects: fast unit tests (fakes only, no network), integration tests on loopback, and lab tests (real sshd, MariaDB, OpenStack tools in
// network namespaces). `npm test` runs both; lab tests skip themselves with a reason when not root.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // Real components on loopback only (sshd, MariaDB started by the test, by PID). No namespaces.
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts"],
          // Brings the lab up once for all lab tests (or provides a skip reason when not root).
          globalSetup: ["test/lab/setup/global-setup.ts"],
          testTimeout: 900_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
