/**
 * The answer file's public API: the schema and its types, loading with located errors, secrets, paths.
 * Other layers import from here rather than from the individual modules.
 */
export {
  AnswersSchema,
  SERVICES,
  answersJsonSchema,
  type Answers,
  type AnswersInput,
  type ComputeHost,
  type Computes,
  type Iscsi,
  type MysqlAdmin,
  type NetworkMove,
  type NewController,
  type OldController,
  type Options,
  type Packages,
  type SecretRef,
  type ServiceName,
  type SshDefaults,
  type SshEndpoint,
} from "./schema.js";
export { RELEASES, normaliseRelease, type ReleaseName } from "./releases.js";
export {
  formatDiagnostic,
  formatPath,
  type Diagnostic,
  type FieldPath,
  type Locate,
  type Position,
} from "./diagnostics.js";
export {
  answersError,
  loadAnswers,
  parseAnswers,
  parseAnswersFile,
  type LoadOptions,
  type LoadedAnswers,
  type ParseResult,
} from "./load.js";
export {
  nodeSecretReader,
  resolveAllSecrets,
  resolveSecret,
  secretFields,
  type ResolvedSecrets,
  type SecretField,
  type SecretReader,
} from "./secrets.js";
export { expandHome, keyFile, knownHostsFile } from "./paths.js";
