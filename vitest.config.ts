import { defineConfig } from "vitest/config";

// Two projects: fast unit tests (fakes only, no network) and lab tests (real sshd, MariaDB, OpenStack tools in
// network namespaces). `npm test` runs both; lab tests skip themselves with a reason when not root.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts"],
          testTimeout: 900_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
