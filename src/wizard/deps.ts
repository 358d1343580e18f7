/**
 * What the question flow reaches outside itself, injected so unit tests drive it with fakes: the questions
 * (Ask), the machines (Probe), secrets as the answer file will resolve them, and the few local files it touches.
 */
import type { SecretReader } from "../answers/index.js";
import type { Ask } from "./ask.js";
import type { Probe } from "./probe.js";

export interface WizardFiles {
  /** True when a local file exists (key files, secret files). */
  exists(path: string): Promise<boolean>;
  /** Writes a secret the operator typed into a new file, mode 0600 (directory created 0700). */
  writeSecret(path: string, value: string): Promise<void>;
}

export interface WizardDeps {
  readonly ask: Ask;
  readonly probe: Probe;
  /** Resolves `{env}` / `{file}` references as `handover run` will (env of this process, files from disk). */
  readonly secrets: SecretReader;
  readonly files: WizardFiles;
  /** HOME of the operator, for `~/` paths and the default key and known_hosts files. */
  readonly home: string;
  /** Directory of the answer file: default place for secret files the wizard writes. */
  readonly answersDir: string;
  /** True when an SSH agent is available (SSH_AUTH_SOCK): offers agent login. */
  readonly hasAgent: boolean;
}
